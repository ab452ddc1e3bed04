//! The dispatcher: sends the outbox over SMTP.
//!
//! Each row is marked 'sending' (committed) before its send begins. A crash mid-send leaves it
//! so, and after a restart it is sent again with the same Message-ID: a receiver may see it
//! twice, but it is never lost, and the ID lets a mail client fold the copies together. Then
//! the outcome is recorded: sent; failed for good (the sellers are told); or tried again after
//! a capped backoff. All SQLite work goes through the database thread (`Db::call`); the clock
//! is read here, at the edge.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::db::{Db, DbClosed};
use crate::outbox::{self, OutboxError};
use crate::smtp::{SendError, SmtpSink};
use crate::store::{self, OutboxRow, StoreError};

/// Rows taken from the queue in one round.
const BATCH: usize = 64;
/// The longest the dispatcher sleeps without looking at the queue.
const TICK: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Db(#[from] DbClosed),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    rows: usize,
    sent: usize,
}

/// Send everything due now, until nothing is (messages that fail for the moment wait for their
/// retry time and are not waited for). Returns how many the server accepted. For `process`
/// when `[smtp]` is configured, and for tests.
pub async fn drain(db: &Db, config: &Arc<Config>, sink: &SmtpSink) -> Result<usize, DispatchError> {
    let mut sent = 0;
    loop {
        let tally = round(db, config, sink, None).await?;
        sent += tally.sent;
        if tally.rows == 0 {
            return Ok(sent);
        }
    }
}

/// The dispatcher loop of `mailcart run`. Sends what is due, then waits for the first of: a
/// `wake` (new mail was queued), the next retry time, a 30 s tick, or `shutdown`. On shutdown
/// it starts no new send, lets those in flight finish (each bounded by the SMTP timeout), and
/// returns.
pub async fn run(
    db: Db,
    config: Arc<Config>,
    sink: SmtpSink,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(
        server = %sink.server(),
        connections = sink.connections(),
        "smtp dispatcher started"
    );
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Listen for a wake before reading the queue, so that mail queued during the round
        // is not left waiting for the tick.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let healthy = match round(&db, &config, &sink, Some(&shutdown)).await {
            Ok(tally) if tally.rows > 0 => {
                // More may be due (a full batch, a failure notice just queued): look again.
                continue;
            }
            Ok(_) => true,
            Err(DispatchError::Db(e)) => {
                tracing::error!(error = %e, "smtp dispatcher stops");
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox round failed; trying again shortly");
                false
            }
        };
        let wait = if healthy {
            until_next_retry(&db).await
        } else {
            TICK
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!("smtp dispatcher stopped");
}

/// How long until the earliest retry is due, at most `TICK`.
async fn until_next_retry(db: &Db) -> Duration {
    let next = match db.call(|c| store::next_retry_at(c)).await {
        Ok(Ok(Some(at))) => at,
        Ok(Ok(None)) => return TICK,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "reading the next retry time failed");
            return TICK;
        }
        Err(_) => return TICK,
    };
    let Ok(at) = OffsetDateTime::parse(&next, &time::format_description::well_known::Rfc3339)
    else {
        tracing::warn!(next_attempt_at = %next, "unreadable retry time");
        return TICK;
    };
    let wait = at - OffsetDateTime::now_utc();
    if wait <= time::Duration::ZERO {
        return Duration::ZERO;
    }
    // A little past the due time, so that the row is due when we look.
    Duration::try_from(wait)
        .map(|d| d + Duration::from_millis(10))
        .unwrap_or(TICK)
        .min(TICK)
}

/// One round: the rows due now, sent up to `connections` at a time. With `stop`, no new send
/// starts once it reads true. The database is written once before the sends (all marked
/// 'sending') and once per group of outcomes that are ready together, not per message: each
/// commit is an fsync, and three of them per message were most of a send's cost.
async fn round(
    db: &Db,
    config: &Arc<Config>,
    sink: &SmtpSink,
    stop: Option<&watch::Receiver<bool>>,
) -> Result<Tally, DispatchError> {
    let now = OffsetDateTime::now_utc();
    let rows = db
        .call(move |c| store::pending_outbox(c, now, BATCH))
        .await??;
    let mut tally = Tally {
        rows: rows.len(),
        sent: 0,
    };
    if rows.is_empty() {
        return Ok(tally);
    }
    // Committed before the first byte goes out: from here a crash means "send again".
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    db.call(move |c| store::mark_sending(c, &ids)).await??;

    let stopping = move || stop.is_some_and(|s| *s.borrow());
    let mut unstarted: Vec<i64> = Vec::new();
    // Sending and recording run side by side: while one group of outcomes is committed, the
    // connections go on sending (the sends are futures of this task, so awaiting the database
    // in line with them would stall them).
    let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let sending = async {
        let done = done;
        futures::stream::iter(rows)
            .filter_map(|row| {
                let go = !stopping();
                if !go {
                    unstarted.push(row.id);
                }
                futures::future::ready(go.then_some(row))
            })
            .map(|row| {
                let done = done.clone();
                async move {
                    if row.status == "sending" {
                        tracing::info!(
                            message_id = %row.message_id,
                            order = row.order_ref.as_deref().unwrap_or(""),
                            "resending an email whose earlier send was interrupted"
                        );
                    }
                    let result = sink.send(&row.recipients(), &row.raw).await;
                    crate::crashpoint::pass_if(
                        result.is_ok(),
                        crate::crashpoint::Point::AfterSmtpAccepted,
                    );
                    let _ = done.send((Arc::new(row), result));
                }
            })
            .buffer_unordered(sink.connections())
            .for_each(|()| futures::future::ready(()))
            .await;
    };
    let recording = async {
        let mut first_error = None;
        let mut sent = Vec::new();
        let mut group = Vec::new();
        while outcomes.recv_many(&mut group, BATCH).await > 0 {
            match record(db, config, std::mem::take(&mut group)).await {
                Ok(rows) => sent.extend(rows),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        (sent, first_error)
    };
    let ((), (sent, first_error)) = tokio::join!(sending, recording);
    tally.sent = sent.len();
    if !unstarted.is_empty() {
        db.call(move |c| store::unmark_sending(c, &unstarted))
            .await??;
    }
    copy_to_sent_folder(config, &sent).await;
    match first_error {
        Some(e) => Err(e),
        None => Ok(tally),
    }
}

/// Record what became of a group of sends, in one transaction; returns the rows sent.
async fn record(
    db: &Db,
    config: &Arc<Config>,
    group: Vec<(Arc<OutboxRow>, Result<(), SendError>)>,
) -> Result<Vec<Arc<OutboxRow>>, DispatchError> {
    let now = OffsetDateTime::now_utc();
    let config = Arc::clone(config);
    let cap = outbox::retry_cap(&config);
    let logged = group.clone();
    let sent = db
        .call(move |c| -> Result<Vec<Arc<OutboxRow>>, DispatchError> {
            let tx = c.transaction().map_err(StoreError::from)?;
            let mut sent = Vec::new();
            let mut last_error = None;
            let mut problem = None;
            for (row, result) in group {
                match result {
                    Ok(()) => {
                        outbox::record_sent(&tx, &row, now)?;
                        sent.push(row);
                    }
                    Err(SendError::Transient(e)) => {
                        outbox::record_transient_failure(&tx, &row, &e, cap, now)?;
                        last_error = Some(e);
                    }
                    Err(SendError::Permanent(e)) => {
                        outbox::record_permanent_failure(&tx, &config, &row, &e, now)?;
                    }
                    Err(SendError::Setup(p)) => {
                        outbox::record_transient_failure(&tx, &row, &p.words, cap, now)?;
                        last_error = Some(p.words.clone());
                        problem = Some(p);
                    }
                }
            }
            // The server answered for every outcome but a transient failure; a group of sends
            // is one try.
            match last_error {
                Some(e) => {
                    crate::problem::note_failure(&tx, &config, "smtp", &e, problem.as_ref(), now)?;
                }
                None => {
                    crate::problem::note_success(&tx, &config, "smtp", now)?;
                }
            }
            tx.commit().map_err(StoreError::from)?;
            Ok(sent)
        })
        .await??;
    for (row, result) in &logged {
        let order = row.order_ref.as_deref().unwrap_or("");
        match result {
            Ok(()) => tracing::info!(
                message_id = %row.message_id,
                order,
                to = %row.to_addrs,
                template = %row.template,
                "email sent"
            ),
            Err(SendError::Transient(error)) => tracing::warn!(
                message_id = %row.message_id,
                order,
                to = %row.to_addrs,
                attempts = row.attempts + 1,
                retry_in_s = outbox::retry_delay(row.attempts, cap).whole_seconds(),
                error = %error,
                "email not sent; will retry"
            ),
            Err(SendError::Setup(p)) => tracing::error!(
                message_id = %row.message_id,
                order,
                attempts = row.attempts + 1,
                retry_in_s = outbox::retry_delay(row.attempts, cap).whole_seconds(),
                error = %p.words,
                fix = %p.fix,
                "email not sent: the smtp server refused us, a person has to fix this; will retry"
            ),
            Err(SendError::Permanent(error)) => tracing::error!(
                message_id = %row.message_id,
                order,
                to = %row.to_addrs,
                error = %error,
                "email refused by the server for good; the sellers are told"
            ),
        }
    }
    Ok(sent)
}

/// With `[imap] sent_folder`, a copy of what went out, as a mail client keeps one. A failure
/// here is logged and never holds up sending.
async fn copy_to_sent_folder(config: &Config, sent: &[Arc<OutboxRow>]) {
    let Some(imap) = config.imap.as_ref().filter(|i| i.sent_folder.is_some()) else {
        return;
    };
    if sent.is_empty() {
        return;
    }
    let copies: Vec<Vec<u8>> = sent.iter().map(|r| r.raw.clone()).collect();
    if let Err(e) = crate::imap::append_sent(imap, &copies).await {
        tracing::warn!(error = %e, count = copies.len(), "could not copy sent mail to the Sent folder");
    }
}
