//! Requests carried out once per key, on a thread of their own.
//!
//! A `zellij pipe` broadcast reaches the plugin instance of every client of a session, and each
//! sends host-bridge the same request, keyed by the CLI pipe's id. The first request with a key
//! starts the work; the others wait for its answer and are told they were repeats. The work is
//! detached from the request that started it: a client that gives up (its HTTP connection
//! closes, the server's timeout cuts it off) neither cancels the work nor makes a repeat start it
//! again.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

use bridge_protocol::{ErrorBody, ErrorKind, Response};
use tokio::sync::watch;

/// What a request comes to.
pub type Answer = Result<Response, ErrorBody>;

/// How many keys are remembered (each session's clients send one pipe within milliseconds of
/// each other, so a few hundred is plenty).
const REMEMBERED: usize = 512;

/// The answers of recent keyed requests, finished or still being worked out.
#[derive(Debug, Default)]
pub struct RecentAnswers {
    answers: HashMap<String, watch::Receiver<Option<Answer>>>,
    order: VecDeque<String>,
}

impl RecentAnswers {
    /// Returns the answer channel of `key` and whether it was just made (the caller must then
    /// do the work and send the answer).
    fn claim(&mut self, key: &str) -> Result<watch::Receiver<Option<Answer>>, Claimed> {
        if let Some(answer) = self.answers.get(key) {
            return Ok(answer.clone());
        }
        if self.order.len() >= REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
        let (sender, receiver) = watch::channel(None);
        self.answers.insert(key.to_owned(), receiver.clone());
        self.order.push_back(key.to_owned());
        Err(Claimed { sender, receiver })
    }
}

/// A key this request was the first to ask for.
struct Claimed {
    sender: watch::Sender<Option<Answer>>,
    receiver: watch::Receiver<Option<Answer>>,
}

/// Carries out `work` on a blocking thread, once per `key`; returns the answer and whether this
/// call was the one that did the work (always true without a key).
///
/// Keys of different request types never meet: callers prefix them with the request type.
pub async fn run_once<W>(
    recent: &Mutex<RecentAnswers>,
    key: Option<&str>,
    work: W,
) -> (Answer, bool)
where
    W: FnOnce() -> Answer + Send + 'static,
{
    let Some(key) = key else {
        return (run_blocking(work).await, true);
    };
    // The lock is held only to look the key up; a poisoned lock still holds a usable map.
    let claim = recent.lock().unwrap_or_else(|e| e.into_inner()).claim(key);
    let (mut receiver, first) = match claim {
        Ok(receiver) => (receiver, false),
        Err(Claimed { sender, receiver }) => {
            // Detached: dropping the handle does not stop the thread.
            drop(tokio::task::spawn_blocking(move || {
                let answer = work();
                let _ = sender.send(Some(answer));
            }));
            (receiver, true)
        }
    };
    let answer = match receiver.wait_for(Option::is_some).await {
        Ok(answer) => answer.clone().unwrap_or_else(|| Err(failed())),
        // The sender went away without an answer: the work panicked.
        Err(_) => Err(failed()),
    };
    (answer, first)
}

fn failed() -> ErrorBody {
    ErrorBody::new(
        ErrorKind::Internal,
        "host-bridge failed while carrying out the request",
    )
    .with_hint("see host-bridge.log")
}

/// Carries out `work` on a blocking thread.
pub async fn run_blocking<W>(work: W) -> Answer
where
    W: FnOnce() -> Answer + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(failed()))
}

/// Returns work that runs the future `make` builds on a current-thread runtime of its own, as
/// the `zdrive` binary runs its engine: the engine's futures are not all `Send`, and a slow
/// store or LLM must not hold up the daemon's other requests.
pub fn on_engine_thread<F, Fut>(make: F) -> impl FnOnce() -> Answer + Send + 'static
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Answer>,
{
    move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?;
        runtime.block_on(make())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn counted(runs: &Arc<AtomicU32>, text: &str) -> impl FnOnce() -> Answer + Send + 'static {
        let runs = Arc::clone(runs);
        let text = text.to_owned();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            Ok(Response::Echo { text })
        }
    }

    #[test]
    fn concurrent_requests_with_one_key_run_once() {
        let recent = Arc::new(Mutex::new(RecentAnswers::default()));
        let runs = Arc::new(AtomicU32::new(0));
        let answers = runtime().block_on(async {
            let calls = (0..4).map(|i| {
                let recent = Arc::clone(&recent);
                let work = counted(&runs, &format!("call {i}"));
                tokio::spawn(async move { run_once(&recent, Some("k"), work).await })
            });
            let mut answers = Vec::new();
            for call in calls.collect::<Vec<_>>() {
                answers.push(call.await.unwrap());
            }
            answers
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(answers.iter().filter(|(_, first)| *first).count(), 1);
        let texts: Vec<_> = answers.iter().map(|(a, _)| a.clone()).collect();
        assert!(texts.windows(2).all(|w| w[0] == w[1]), "{texts:?}");
    }

    #[test]
    fn other_keys_and_no_key_run_each_time() {
        let recent = Mutex::new(RecentAnswers::default());
        let runs = Arc::new(AtomicU32::new(0));
        runtime().block_on(async {
            assert!(run_once(&recent, Some("a"), counted(&runs, "a")).await.1);
            assert!(run_once(&recent, Some("b"), counted(&runs, "b")).await.1);
            assert!(!run_once(&recent, Some("a"), counted(&runs, "a")).await.1);
            assert!(run_once(&recent, None, counted(&runs, "x")).await.1);
            assert!(run_once(&recent, None, counted(&runs, "x")).await.1);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_caller_that_gives_up_does_not_make_the_next_one_start_again() {
        let recent = Arc::new(Mutex::new(RecentAnswers::default()));
        let runs = Arc::new(AtomicU32::new(0));
        let (first, second) = runtime().block_on(async {
            let gave_up = tokio::time::timeout(
                Duration::from_millis(5),
                run_once(&recent, Some("k"), counted(&runs, "once")),
            )
            .await;
            let second = run_once(&recent, Some("k"), counted(&runs, "again")).await;
            (gave_up.is_err(), second)
        });
        assert!(first, "the first caller timed out");
        assert_eq!(
            second.0,
            Ok(Response::Echo {
                text: "once".into()
            })
        );
        assert!(!second.1);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn work_that_panics_is_an_internal_error() {
        let recent = Mutex::new(RecentAnswers::default());
        let (answer, first) = runtime().block_on(run_once(&recent, Some("p"), || -> Answer {
            panic!("boom")
        }));
        assert!(first);
        assert_eq!(answer.unwrap_err().kind, ErrorKind::Internal);
    }

    #[test]
    fn old_keys_are_forgotten() {
        let mut recent = RecentAnswers::default();
        for i in 0..=REMEMBERED {
            assert!(recent.claim(&i.to_string()).is_err());
        }
        assert_eq!(recent.answers.len(), REMEMBERED);
        assert!(recent.claim("0").is_err(), "the oldest key was dropped");
        assert!(recent.claim(&REMEMBERED.to_string()).is_ok());
    }
}
