//! The one writer: a thread that owns the database connection and runs jobs sent to it, so
//! async tasks never block the runtime on SQLite and never write concurrently.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{self, StoreError};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
#[error("the database thread has stopped")]
pub struct DbClosed;

impl Db {
    /// Open the database and start its thread. The thread ends when the last `Db` is dropped,
    /// after finishing the job in hand.
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        let mut conn = store::open(path)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mailcart-db".into())
            .spawn(move || {
                for job in rx {
                    // A bug in one job must not take the database away from every other task;
                    // its caller sees the job fail (its reply channel is dropped).
                    let ran =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut conn)));
                    if ran.is_err() {
                        tracing::error!("a database job panicked; its transaction was rolled back");
                    }
                }
            })
            .map_err(|e| StoreError::Input(format!("starting the database thread: {e}")))?;
        Ok(Db { jobs })
    }

    /// Run `f` on the database thread and wait for its result.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbClosed>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs.send(job).map_err(|_| DbClosed)?;
        rx.await.map_err(|_| DbClosed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let failed = db.call(|_| -> i32 { panic!("bug") }).await;
        assert!(failed.is_err());
        assert_eq!(db.call(|_| 7).await.unwrap(), 7, "the thread still serves");
    }

    #[tokio::test]
    async fn jobs_run_in_order_on_one_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        db.call(|c| c.execute_batch("CREATE TABLE t (x INTEGER)"))
            .await
            .unwrap()
            .unwrap();
        for i in 0..10 {
            db.call(move |c| c.execute("INSERT INTO t VALUES (?1)", [i]))
                .await
                .unwrap()
                .unwrap();
        }
        let n: i64 = db
            .call(|c| c.query_row("SELECT SUM(x) FROM t", [], |r| r.get(0)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 45);
    }
}
