//! `mailcart run`: the mailbox source, the outbox dispatcher, the timers and the signal
//! handling, together.
//! Shutdown on SIGINT/SIGTERM: the source stops fetching after the batch in hand (whose
//! transaction completes), the dispatcher lets sends in flight finish, and whatever was not
//! sent stays in the outbox for the next start.

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::db::Db;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no [imap] section in the config: `mailcart run` needs a mailbox to watch")]
    NoMailbox,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error("signals: {0}")]
    Signals(#[from] std::io::Error),
}

pub async fn run(config: Config) -> Result<(), DaemonError> {
    if config.imap.is_none() {
        return Err(DaemonError::NoMailbox);
    }
    let _lock = crate::lock::DaemonLock::acquire(&config.storage.database)?;
    let config = Arc::new(config);
    let db = Db::open(&config.storage.database)?;
    let (stop, stopped) = watch::channel(false);
    let wake = Arc::new(Notify::new());

    let dispatcher: JoinHandle<()> = match &config.smtp {
        Some(smtp) => {
            let sink = crate::smtp::SmtpSink::new(smtp, &config.shop.address)
                .map_err(|e| DaemonError::Smtp(e.to_string()))?;
            tokio::spawn(crate::dispatch::run(
                db.clone(),
                config.clone(),
                sink,
                wake.clone(),
                stopped.clone(),
            ))
        }
        None => tokio::spawn(file_outbox(
            db.clone(),
            config.clone(),
            wake.clone(),
            stopped.clone(),
        )),
    };
    let source = tokio::spawn(crate::imap::run(
        db.clone(),
        config.clone(),
        wake.clone(),
        stopped.clone(),
    ));
    let timers = tokio::spawn(timers(
        db.clone(),
        config.clone(),
        wake.clone(),
        stopped.clone(),
    ));
    tracing::info!(mailbox = %config.imap.as_ref().map(|i| i.mailbox.as_str()).unwrap_or(""), "mailcart running");

    wait_for_signal().await?;
    tracing::info!("shutting down: finishing the batch in hand");
    let _ = stop.send(true);
    if let Err(e) = source.await {
        tracing::error!(error = %e, "mailbox source ended abnormally");
    }
    if let Err(e) = timers.await {
        tracing::error!(error = %e, "timers ended abnormally");
    }
    wake.notify_one();
    if let Err(e) = dispatcher.await {
        tracing::error!(error = %e, "dispatcher ended abnormally");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() -> Result<(), std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// How often the timers look for reminders and expiries due. Deadlines are in days, so a
/// minute late is on time.
const TIMER_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// Payment reminders and expiry: at start, then every minute, on the wall clock.
async fn timers(
    db: Db,
    config: Arc<Config>,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let cfg = Arc::clone(&config);
        let now = time::OffsetDateTime::now_utc();
        match db
            .call(move |conn| {
                let fired = crate::pipeline::run_timers(conn, &cfg, now)?;
                crate::pipeline::run_retention(conn, &cfg, now)?;
                Ok::<_, crate::pipeline::PipelineError>(fired)
            })
            .await
        {
            Ok(Ok(fired)) if !fired.is_empty() => wake.notify_one(),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "running the timers failed; will retry"),
            Err(_) => return,
        }
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(TIMER_PERIOD) => {}
        }
    }
}

/// Without [smtp]: write the outbox to its folder whenever the source queues mail.
async fn file_outbox(
    db: Db,
    config: Arc<Config>,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let dir = config.outbox.dir.clone();
        let result = db
            .call(move |conn| {
                crate::outbox::deliver_to_dir(conn, &dir, time::OffsetDateTime::now_utc())
            })
            .await;
        match result {
            Ok(Ok(written)) if !written.is_empty() => {
                tracing::info!(count = written.len(), "outbox written")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "writing the outbox failed; will retry"),
            Err(_) => return,
        }
        if *stopped.borrow() {
            return;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = stopped.changed() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
        }
    }
}
