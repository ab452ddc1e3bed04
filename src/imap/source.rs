//! The mailbox source: connect, catch up from the checkpoint, take new mail in batches, wait
//! (IDLE or polling), and start over after any error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::ImapError;
use super::net::{connect, server};
use super::session::{MailboxState, Part, Session, Wake};
use crate::config::{AfterHandling, Config, Imap, StartAt};
use crate::db::Db;
use crate::pipeline::{self, MailboxPosition, Outcome, PipelineError, RandomReferences};
use crate::store::{self, Checkpoint};

/// Bytes of message bodies fetched (and held in memory) for one batch, at most; a batch always
/// holds at least one message.
const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;
/// An IDLE with no word from the server (not even a keepalive) for this long is ended and the
/// connection tested with NOOP: a half-open connection never says anything.
const SILENCE: Duration = Duration::from_secs(5 * 60);
/// While following a stream (`[imap] follow_ms`), the pause between two looks at the mailbox:
/// an order waits 5 ms on average for the next look, and the server gets at most 100 cheap
/// commands a second (fewer over a slower link, where each look is a round trip as well).
const FOLLOW_GAP: Duration = Duration::from_millis(10);
/// Taken messages are flagged or moved together, at the latest this long after the first of
/// them was committed (or when a batch's worth have gathered, or the mailbox is quiet). A move
/// per little batch of a stream kept the server's maildir lock from the deliveries into the
/// same mailbox; what is committed and not yet moved is moved on the next start (`tidy`).
const DISPOSE_EVERY: Duration = Duration::from_secs(1);
/// How often contact with the server is noted for `status` while following a stream.
const CONTACT_WHILE_FOLLOWING: Duration = Duration::from_secs(60);
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// `[imap] retry_max_seconds` by default.
#[cfg(test)]
const LAST_RETRY: Duration = Duration::from_secs(5 * 60);

/// Watch `[imap] mailbox` until `shutdown` turns true (or its sender is dropped): every new
/// message goes through the pipeline, then is flagged or moved, then the outbox is woken.
/// Connection failures are logged, recorded for `mailcart status` and retried with capped
/// exponential backoff (1 s to `[imap] retry_max_seconds`, 5 min); one a person has to mend is
/// recorded as a problem and the sellers are told once (`crate::problem`). Returns after LOGOUT on shutdown, or at once when the
/// config has no `[imap]` section or the database thread has stopped.
pub async fn run(
    db: Db,
    config: Arc<Config>,
    outbox_wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(cfg) = config.imap.clone() else {
        tracing::error!("no [imap] section in the config: the mailbox source has nothing to watch");
        return;
    };
    let ctx = Ctx {
        db: &db,
        config: &config,
        cfg: &cfg,
        wake: &outbox_wake,
    };
    let mut retry = Backoff::new(Duration::from_secs(cfg.retry_max_seconds.max(1)));
    // Failed attempts since the last good connection.
    let mut failures: u32 = 0;
    loop {
        if stopping(&shutdown) {
            break;
        }
        tracing::info!(
            attempt = failures + 1,
            server = %server(&cfg),
            mailbox = %cfg.mailbox,
            "connecting to the imap server"
        );
        match serve(&ctx, &mut shutdown, &mut retry, &mut failures).await {
            Ok(()) => break,
            Err(ImapError::DbClosed) => {
                tracing::error!("the database has stopped; the mailbox source stops too");
                return;
            }
            Err(e) => {
                failures += 1;
                let wait = retry.next_delay();
                tracing::warn!(
                    error = %e,
                    failures,
                    retry_in_s = wait.as_secs(),
                    "imap connection failed; will reconnect"
                );
                if failed(&db, &config, &e, &outbox_wake).await.is_err() {
                    tracing::error!("the database has stopped; the mailbox source stops too");
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop_requested(&mut shutdown) => {}
                }
            }
        }
    }
    tracing::info!("mailbox source stopped");
}

struct Ctx<'a> {
    db: &'a Db,
    config: &'a Arc<Config>,
    cfg: &'a Imap,
    wake: &'a Notify,
}

/// One connection's life: returns Ok on shutdown (after LOGOUT), Err when it broke.
async fn serve(
    ctx: &Ctx<'_>,
    shutdown: &mut watch::Receiver<bool>,
    retry: &mut Backoff,
    failures: &mut u32,
) -> Result<(), ImapError> {
    let cfg = ctx.cfg;
    let mut s = tokio::select! {
        s = connect(cfg) => s?,
        _ = stop_requested(shutdown) => return Ok(()),
    };
    tracing::info!(
        connection = s.description(),
        idle = s.has("IDLE") && cfg.idle,
        r#move = s.has("MOVE"),
        uidplus = s.has("UIDPLUS"),
        "logged in to the imap server"
    );
    record(ctx.db, None).await?;
    let mailbox = s.folder("mailbox", &cfg.mailbox)?;
    if cfg.after == AfterHandling::Move {
        for (key, logical) in [
            ("processed_folder", &cfg.processed_folder),
            ("needs_human_folder", &cfg.needs_human_folder),
        ] {
            let name = s.folder(key, logical)?;
            if s.ensure_folder(key, &name).await? {
                tracing::info!(folder = %logical, server_name = %name, "created folder");
            }
        }
    }
    let state = s.select(&mailbox).await?;
    let mut last_uid = resume_point(ctx, &mut s, &state).await?;
    if cfg.after == AfterHandling::Move && last_uid > 0 {
        tidy(&mut s, ctx, last_uid).await?;
    }
    // Connected and caught up to where we were: the next failure starts the backoff afresh,
    // and a problem that stopped us before is gone.
    connected(ctx).await?;
    retry.reset();
    *failures = 0;

    let renew = Duration::from_secs(cfg.idle_minutes.max(1) * 60);
    let silence = renew.min(SILENCE);
    let poll = Duration::from_secs(cfg.poll_seconds.max(1));
    let follow = Duration::from_millis(cfg.follow_ms);
    let mut last_taken: Option<Instant> = None;
    let mut recorded = Instant::now();
    let mut taken = Taken::default();
    loop {
        let before = last_uid;
        let stopped = sync(
            &mut s,
            ctx,
            state.uidvalidity,
            &mut last_uid,
            &mut taken,
            shutdown,
        )
        .await?;
        if last_uid != before {
            last_taken = Some(Instant::now());
        }
        if taken.due(cfg.batch_size) {
            taken.dispose(&mut s, cfg).await?;
        }
        let following = last_taken.is_some_and(|at| at.elapsed() < follow);
        // Each note is a commit: while following a stream, one a minute is enough.
        if !following || recorded.elapsed() >= CONTACT_WHILE_FOLLOWING {
            record(ctx.db, None).await?;
            recorded = Instant::now();
        }
        if stopped || stopping(shutdown) {
            taken.dispose(&mut s, cfg).await?;
            s.logout().await;
            return Ok(());
        }
        if following {
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_GAP) => {}
                _ = stop_requested(shutdown) => {}
            }
            continue;
        }
        last_taken = None;
        // Quiet: nothing waits in the mailbox that is already taken.
        taken.dispose(&mut s, cfg).await?;
        if cfg.idle && s.has("IDLE") {
            tracing::debug!(last_uid, "idle: waiting for new mail");
            crate::crashpoint::pass(crate::crashpoint::Point::DuringIdle);
            let (next, wake) = s.idle(renew, silence, shutdown).await?;
            s = next;
            match wake {
                Wake::Shutdown => {
                    s.logout().await;
                    return Ok(());
                }
                Wake::Quiet => {
                    tracing::debug!("the imap server was silent; checking the connection");
                    s.noop().await?;
                }
                Wake::Changed | Wake::Renew => {}
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop_requested(shutdown) => {}
            }
            if stopping(shutdown) {
                s.logout().await;
                return Ok(());
            }
        }
    }
}

/// Where to read on from: the checkpoint under the same UIDVALIDITY, else the start (or, with
/// `start_at = "new"`, the last message `state`, the selected mailbox, holds).
async fn resume_point(
    ctx: &Ctx<'_>,
    s: &mut Session,
    state: &MailboxState,
) -> Result<u32, ImapError> {
    let uidvalidity = state.uidvalidity;
    let mailbox = ctx.cfg.mailbox.clone();
    let stored = ctx
        .db
        .call(move |c| store::load_checkpoint(c, &mailbox))
        .await
        .map_err(|_| ImapError::DbClosed)?
        .map_err(|e| ImapError::Database(e.to_string()))?;
    match stored {
        Some(c) if c.uidvalidity == uidvalidity => {
            tracing::info!(last_uid = c.last_uid, "resuming after the checkpoint");
            Ok(c.last_uid)
        }
        Some(c) => {
            let text = format!(
                "mailbox {:?} has a new UIDVALIDITY ({} -> {}): its UIDs were reset, e.g. the folder was recreated or restored; reading it again from the start (messages already taken are recognised and not acted on twice)",
                ctx.cfg.mailbox, c.uidvalidity, uidvalidity
            );
            tracing::warn!(
                old = c.uidvalidity,
                new = uidvalidity,
                mailbox = %ctx.cfg.mailbox,
                "mailbox uidvalidity changed; rescanning it from the start"
            );
            // Noted once: the checkpoint takes the new UIDVALIDITY at once, so a reconnect
            // before any message arrives does not report the change again.
            let mailbox = ctx.cfg.mailbox.clone();
            let config = ctx.config.clone();
            let key = format!("uidvalidity.{}.{}", ctx.cfg.mailbox, uidvalidity);
            ctx.db
                .call(move |conn| {
                    let now = OffsetDateTime::now_utc();
                    store::record_contact(conn, "imap", Some(&text), now)?;
                    if let Err(e) = crate::outbox::alert_sellers(
                        conn,
                        &config,
                        &key,
                        "mailcart: the checkout mailbox was reset",
                        &text,
                        now,
                    ) {
                        tracing::error!(error = %e, "could not queue the sellers' alert");
                    }
                    store::save_checkpoint(
                        conn,
                        &mailbox,
                        Checkpoint {
                            uidvalidity,
                            last_uid: 0,
                        },
                        now,
                    )
                })
                .await
                .map_err(|_| ImapError::DbClosed)?
                .map_err(|e| ImapError::Database(e.to_string()))?;
            ctx.wake.notify_one();
            Ok(0)
        }
        None if ctx.cfg.start_at == StartAt::New => {
            // A mailbox with history: what is there already was dealt with by people.
            let last_uid = match state.uid_next {
                Some(next) => next.saturating_sub(1),
                None if state.exists == 0 => 0,
                // Courier sends no UIDNEXT on SELECT (RFC 3501 lets a server leave it out): the
                // UID of the last message the SELECT counted. Without this the whole history
                // was taken as new orders.
                None => s.uid_of(state.exists).await?.ok_or_else(|| {
                    ImapError::Protocol(format!(
                        "the server gave no UIDNEXT for {:?}, and message {} has no UID (expunged meanwhile?)",
                        ctx.cfg.mailbox, state.exists
                    ))
                })?,
            };
            tracing::info!(
                mailbox = %ctx.cfg.mailbox,
                last_uid,
                "no checkpoint yet and start_at = \"new\": leaving the messages already there alone"
            );
            let mailbox = ctx.cfg.mailbox.clone();
            ctx.db
                .call(move |conn| {
                    store::save_checkpoint(
                        conn,
                        &mailbox,
                        Checkpoint {
                            uidvalidity,
                            last_uid,
                        },
                        OffsetDateTime::now_utc(),
                    )
                })
                .await
                .map_err(|_| ImapError::DbClosed)?
                .map_err(|e| ImapError::Database(e.to_string()))?;
            Ok(last_uid)
        }
        None => {
            tracing::info!(
                mailbox = %ctx.cfg.mailbox,
                "no checkpoint for this mailbox yet: reading it from the start"
            );
            Ok(0)
        }
    }
}

/// Take every message above `last_uid`, batch by batch, until the mailbox has no more.
/// Returns true when it stopped early for shutdown (after finishing a batch).
async fn sync(
    s: &mut Session,
    ctx: &Ctx<'_>,
    uidvalidity: u32,
    last_uid: &mut u32,
    taken: &mut Taken,
    shutdown: &watch::Receiver<bool>,
) -> Result<bool, ImapError> {
    let mut quiet_rounds = 0;
    loop {
        s.take_changed();
        let new = s.list_after(*last_uid).await?;
        // New mail announced while the listing ran may not be in it: look once more.
        let changed = s.take_changed();
        if new.is_empty() {
            quiet_rounds += 1;
            if changed && quiet_rounds < 3 {
                continue;
            }
            return Ok(false);
        }
        quiet_rounds = 0;
        tracing::info!(
            count = new.len(),
            after_uid = *last_uid,
            "new messages in the mailbox"
        );
        for batch in batches(&new, ctx.cfg.batch_size, ctx.cfg.max_message_bytes) {
            take_batch(s, ctx, uidvalidity, batch, taken).await?;
            if let Some((uid, _)) = batch.last() {
                *last_uid = *uid;
            }
            if taken.due(ctx.cfg.batch_size) {
                taken.dispose(s, ctx.cfg).await?;
            }
            if stopping(shutdown) {
                return Ok(true);
            }
        }
    }
}

/// Split the listing into batches of at most `batch_size` messages and `MAX_BATCH_BYTES` of
/// bodies (messages over `max_bytes` count nothing: only their header is fetched).
fn batches(new: &[(u32, u64)], batch_size: u32, max_bytes: u64) -> Vec<&[(u32, u64)]> {
    let per = usize::try_from(batch_size.max(1)).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, (_, size)) in new.iter().enumerate() {
        let cost = if *size > max_bytes { 0 } else { *size };
        let count = i - start;
        if count > 0 && (count >= per || bytes + cost > MAX_BATCH_BYTES) {
            out.push(&new[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += cost;
    }
    if start < new.len() {
        out.push(&new[start..]);
    }
    out
}

/// Fetch one batch, store and decide it with the checkpoint in one commit, wake the outbox, and
/// add its messages to those `taken` is to flag or move.
async fn take_batch(
    s: &mut Session,
    ctx: &Ctx<'_>,
    uidvalidity: u32,
    batch: &[(u32, u64)],
    taken: &mut Taken,
) -> Result<(), ImapError> {
    let cfg = ctx.cfg;
    let Some(&(highest, _)) = batch.last() else {
        return Ok(());
    };
    let max = cfg.max_message_bytes;
    let small: Vec<u32> = batch
        .iter()
        .filter(|(_, size)| *size <= max)
        .map(|(uid, _)| *uid)
        .collect();
    let large: Vec<(u32, u64)> = batch
        .iter()
        .filter(|(_, size)| *size > max)
        .copied()
        .collect();
    let small_bytes = batch
        .iter()
        .filter(|(_, size)| *size <= max)
        .map(|(_, size)| *size)
        .sum();
    let mut bodies = s.fetch_expecting(&small, Part::Whole, small_bytes).await?;
    let large_uids: Vec<u32> = large.iter().map(|(uid, _)| *uid).collect();
    let mut heads = s.fetch(&large_uids, Part::Header).await?;
    crate::crashpoint::pass(crate::crashpoint::Point::AfterFetch);

    let mut uids = Vec::with_capacity(small.len());
    let mut raws = Vec::with_capacity(small.len());
    for uid in small {
        match bodies.remove(&uid) {
            Some(raw) => {
                uids.push(uid);
                raws.push(raw);
            }
            None => tracing::info!(uid, "message gone before it could be fetched; skipped"),
        }
    }
    let mut set_aside = Vec::new();
    for (uid, size) in large {
        match heads.remove(&uid) {
            Some(head) => set_aside.push((uid, size, head)),
            None => tracing::info!(uid, "message gone before it could be fetched; skipped"),
        }
    }
    let aside_uids: Vec<(u32, u64)> = set_aside.iter().map(|(u, s, _)| (*u, *s)).collect();

    let config = Arc::clone(ctx.config);
    let mailbox = cfg.mailbox.clone();
    let checkpoint = Checkpoint {
        uidvalidity,
        last_uid: highest,
    };
    let (aside, outcomes) = ctx
        .db
        .call(move |conn| {
            let now = OffsetDateTime::now_utc();
            let mut aside = Vec::with_capacity(set_aside.len());
            for (_, size, head) in &set_aside {
                let reason = format!(
                    "message of {size} bytes is over the {max}-byte limit ([imap] max_message_bytes); only its header was fetched, the whole message is still in the mailbox"
                );
                aside.push(pipeline::set_aside(conn, &config, head, &reason, now)?);
            }
            let outcomes = pipeline::process_batch_from(
                conn,
                &config,
                &raws,
                now,
                &mut RandomReferences,
                Some(MailboxPosition {
                    mailbox: &mailbox,
                    checkpoint,
                }),
            )?;
            Ok::<(Vec<Outcome>, Vec<Outcome>), PipelineError>((aside, outcomes))
        })
        .await
        .map_err(|_| ImapError::DbClosed)?
        .map_err(|e| ImapError::Database(e.to_string()))?;

    crate::crashpoint::pass(crate::crashpoint::Point::AfterCommit);
    // Committed: now, and only now, the messages may leave the mailbox.
    let mut done = Vec::new();
    let mut for_person = Vec::new();
    for (uid, o) in uids.iter().zip(&outcomes) {
        tracing::info!(
            uid,
            message_id = %o.message_id,
            order = o.order.as_deref().unwrap_or(""),
            duplicate = o.duplicate,
            held = o.attention.is_some(),
            "message taken from the mailbox"
        );
        if o.attention.is_some() {
            for_person.push(*uid);
        } else {
            done.push(*uid);
        }
    }
    for ((uid, size), o) in aside_uids.iter().zip(&aside) {
        tracing::warn!(
            uid,
            message_id = %o.message_id,
            size,
            "message over the size limit set aside for a person"
        );
        for_person.push(*uid);
    }
    // The replies are committed: let them go before tidying the mailbox.
    ctx.wake.notify_one();
    taken.add(done, for_person);
    Ok(())
}

/// Messages committed and not yet flagged or moved.
#[derive(Default)]
struct Taken {
    done: Vec<u32>,
    for_person: Vec<u32>,
    since: Option<Instant>,
}

impl Taken {
    fn add(&mut self, done: Vec<u32>, for_person: Vec<u32>) {
        if done.is_empty() && for_person.is_empty() {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        self.done.extend(done);
        self.for_person.extend(for_person);
    }

    /// A batch's worth have gathered, or the first has waited `DISPOSE_EVERY`.
    fn due(&self, batch_size: u32) -> bool {
        let count = self.done.len() + self.for_person.len();
        count >= usize::try_from(batch_size.max(1)).unwrap_or(usize::MAX)
            || self.since.is_some_and(|at| at.elapsed() >= DISPOSE_EVERY)
    }

    async fn dispose(&mut self, s: &mut Session, cfg: &Imap) -> Result<(), ImapError> {
        if self.since.is_none() {
            return Ok(());
        }
        dispose(s, cfg, &self.done, &self.for_person).await?;
        *self = Taken::default();
        Ok(())
    }
}

/// Flag or move messages whose batch is committed.
async fn dispose(
    s: &mut Session,
    cfg: &Imap,
    done: &[u32],
    for_person: &[u32],
) -> Result<(), ImapError> {
    match cfg.after {
        AfterHandling::Seen => {
            s.add_flags(done, "\\Seen").await?;
            // Left unread, and flagged, so that a person notices them.
            s.add_flags(for_person, "\\Flagged").await?;
        }
        AfterHandling::Move => {
            let processed = s.folder("processed_folder", &cfg.processed_folder)?;
            let needs_human = s.folder("needs_human_folder", &cfg.needs_human_folder)?;
            s.move_to(done, &processed).await?;
            s.move_to(for_person, &needs_human).await?;
        }
    }
    Ok(())
}

/// With `after = move`, messages at or below the checkpoint that are still in the mailbox were
/// committed but not moved (the connection broke in between): move them now, each where its
/// stored outcome says.
async fn tidy(s: &mut Session, ctx: &Ctx<'_>, last_uid: u32) -> Result<(), ImapError> {
    let left = s.uids_in(&format!("1:{last_uid}")).await?;
    if left.is_empty() {
        return Ok(());
    }
    tracing::info!(
        count = left.len(),
        "messages already taken are still in the mailbox; moving them"
    );
    let per = usize::try_from(ctx.cfg.batch_size.max(1)).unwrap_or(usize::MAX);
    for chunk in left.chunks(per) {
        let heads = s.fetch(chunk, Part::MessageId).await?;
        let ids: Vec<(u32, String)> = heads
            .into_iter()
            .map(|(uid, head)| (uid, crate::mail::read::read(&head).message_id))
            .collect();
        let held = ctx
            .db
            .call(move |conn| -> rusqlite::Result<Vec<(u32, bool)>> {
                let mut stmt = conn.prepare_cached(
                    "SELECT attention IS NOT NULL AND resolved_at IS NULL FROM messages
                     WHERE message_id = ?1 ORDER BY id LIMIT 1",
                )?;
                let mut out = Vec::with_capacity(ids.len());
                for (uid, id) in &ids {
                    let held: Option<bool> =
                        stmt.query_row([id], |r| r.get(0))
                            .map(Some)
                            .or_else(|e| match e {
                                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                                e => Err(e),
                            })?;
                    // Not on record at all: a person had better look.
                    out.push((*uid, held.unwrap_or(true)));
                }
                Ok(out)
            })
            .await
            .map_err(|_| ImapError::DbClosed)?
            .map_err(|e| ImapError::Database(e.to_string()))?;
        let done: Vec<u32> = held.iter().filter(|(_, h)| !h).map(|(u, _)| *u).collect();
        let for_person: Vec<u32> = held.iter().filter(|(_, h)| *h).map(|(u, _)| *u).collect();
        dispose(s, ctx.cfg, &done, &for_person).await?;
    }
    Ok(())
}

/// Note a failed connection for `mailcart status`, and a problem a person has to mend for
/// the sellers too.
async fn failed(
    db: &Db,
    config: &Arc<Config>,
    e: &ImapError,
    wake: &Notify,
) -> Result<(), ImapError> {
    let problem = e.problem();
    if let Some(p) = &problem {
        tracing::error!(error = %e, fix = %p.fix, "the imap server refused us; a person has to fix this (retrying meanwhile)");
    }
    let queued = crate::problem::failed(db, config, "imap", e.to_string(), problem)
        .await
        .map_err(|_| ImapError::DbClosed)?
        .map_err(|e| ImapError::Database(e.to_string()))?;
    if queued {
        wake.notify_one();
    }
    Ok(())
}

/// Connected and caught up: a problem recorded before is mended.
async fn connected(ctx: &Ctx<'_>) -> Result<(), ImapError> {
    let queued = crate::problem::mended(ctx.db, ctx.config, "imap")
        .await
        .map_err(|_| ImapError::DbClosed)?
        .map_err(|e| ImapError::Database(e.to_string()))?;
    if queued {
        tracing::info!("the imap problem is mended; the sellers are told");
        ctx.wake.notify_one();
    }
    Ok(())
}

/// Note contact (or a failure) with the server for `mailcart status`.
async fn record(db: &Db, error: Option<String>) -> Result<(), ImapError> {
    db.call(move |conn| {
        store::record_contact(conn, "imap", error.as_deref(), OffsetDateTime::now_utc())
    })
    .await
    .map_err(|_| ImapError::DbClosed)?
    .map_err(|e| ImapError::Database(e.to_string()))
}

fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Resolves when shutdown is asked for (or nobody can ask for it any more).
pub(crate) async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Capped exponential backoff between failed connection attempts.
struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    fn new(cap: Duration) -> Backoff {
        Backoff {
            next: FIRST_RETRY.min(cap),
            cap,
        }
    }

    fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.cap);
        d
    }

    fn reset(&mut self) {
        self.next = FIRST_RETRY.min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let mut b = Backoff::new(LAST_RETRY);
        let secs: Vec<u64> = (0..12).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
        let mut short = Backoff::new(Duration::from_secs(3));
        let secs: Vec<u64> = (0..4).map(|_| short.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 3, 3]);
    }

    #[test]
    fn taken_messages_are_disposed_by_count_or_age() {
        let mut t = Taken::default();
        assert!(!t.due(3), "nothing taken, nothing due");
        t.add(Vec::new(), Vec::new());
        assert!(t.since.is_none(), "an empty batch starts no clock");
        t.add(vec![1], vec![2]);
        assert!(!t.due(3));
        t.add(vec![3], Vec::new());
        assert!(t.due(3), "a batch's worth");
        let mut t = Taken::default();
        t.add(vec![1], Vec::new());
        t.since = Some(Instant::now() - DISPOSE_EVERY);
        assert!(t.due(200), "the first has waited long enough");
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let new: Vec<(u32, u64)> = (1..=5).map(|u| (u, 10)).collect();
        let b = batches(&new, 2, 100);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), [2, 2, 1]);
        // Large bodies split batches by bytes; one message always fits.
        let big = MAX_BATCH_BYTES / 2 + 1;
        let new = [(1, big), (2, big), (3, 5), (4, MAX_BATCH_BYTES * 3)];
        let b = batches(&new, 100, u64::MAX);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), [1, 2, 1]);
        // Messages over the size limit cost nothing: only their header is fetched.
        let b = batches(&new, 100, 100);
        assert_eq!(b.len(), 1);
        assert!(batches(&[], 10, 10).is_empty());
    }
}
