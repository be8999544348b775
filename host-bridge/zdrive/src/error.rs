//! How zdrive's errors are reported: each error type's class (and so its exit code, the same
//! codes as iMi's: [`cli_docs::exit`]) and its JSON `error.kind`, in one place.

pub use cli_docs::exit::ErrorClass;

use crate::config::ConfigError;
use crate::llm::LlmError;
use crate::mux::MuxError;
use crate::setup::SetupError;
use crate::snapshot::SnapshotError;
use crate::{EngineError, InputError, StoreError};

/// An error that knows how it is reported.
pub trait Classify {
    /// Its class (user, unavailable dependency or internal) and its JSON `error.kind`, in
    /// snake case.
    fn report(&self) -> (ErrorClass, &'static str);
}

/// Returns the class and kind of the first error in `error`'s chain that has them;
/// `(Internal, "internal")` when none has.
pub fn classify(error: &anyhow::Error) -> (ErrorClass, &'static str) {
    error
        .chain()
        .find_map(classified)
        .map_or((ErrorClass::Internal, "internal"), Classify::report)
}

/// Returns `error` as a [`Classify`] when it is one of zdrive's error types.
fn classified<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Classify> {
    fn of<'a, E: Classify + std::error::Error + 'static>(
        error: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a dyn Classify> {
        error.downcast_ref::<E>().map(|e| e as &dyn Classify)
    }
    of::<SnapshotError>(error)
        .or_else(|| of::<EngineError>(error))
        .or_else(|| of::<StoreError>(error))
        .or_else(|| of::<InputError>(error))
        .or_else(|| of::<MuxError>(error))
        .or_else(|| of::<ConfigError>(error))
        .or_else(|| of::<SetupError>(error))
        .or_else(|| of::<LlmError>(error))
        .or_else(|| of::<store::OpenError>(error))
}

use ErrorClass::{Internal, Unavailable, User};

/// The embedded database could not be opened.
impl Classify for store::OpenError {
    fn report(&self) -> (ErrorClass, &'static str) {
        (Unavailable, "unavailable")
    }
}

impl Classify for EngineError {
    fn report(&self) -> (ErrorClass, &'static str) {
        match self {
            EngineError::Input(e) => e.report(),
            EngineError::NotTracked { .. } => (User, "not_tracked"),
            EngineError::NameTaken { .. } => (User, "name_taken"),
            EngineError::PaneTracked { .. } => (User, "already_tracked"),
            EngineError::Store(e) => e.report(),
            EngineError::Outbox { .. } => (Unavailable, "unavailable"),
            EngineError::ReadOnly => (Internal, "internal"),
        }
    }
}

impl Classify for StoreError {
    fn report(&self) -> (ErrorClass, &'static str) {
        match self {
            StoreError::Corrupt { .. } => (Internal, "corrupt"),
            StoreError::Unavailable(_) | StoreError::Backend { .. } => (Unavailable, "unavailable"),
            // A refused login or ACL is a server that will not serve us as configured: exit 3
            // like an unreachable one, with a kind of its own.
            StoreError::Refused(_) => (Unavailable, "refused"),
        }
    }
}

impl Classify for InputError {
    fn report(&self) -> (ErrorClass, &'static str) {
        (User, "bad_input")
    }
}

impl Classify for MuxError {
    fn report(&self) -> (ErrorClass, &'static str) {
        match self {
            MuxError::NoSession => (User, "no_session"),
            MuxError::Unreachable { .. } => (Unavailable, "unavailable"),
            MuxError::Action { .. } => (Unavailable, "session_error"),
        }
    }
}

impl Classify for ConfigError {
    fn report(&self) -> (ErrorClass, &'static str) {
        match self {
            ConfigError::Set(_) | ConfigError::Invalid { .. } => (User, "bad_config"),
            ConfigError::Io { .. } => (Internal, "io"),
        }
    }
}

impl Classify for SetupError {
    fn report(&self) -> (ErrorClass, &'static str) {
        (User, "bad_config")
    }
}

impl Classify for SnapshotError {
    fn report(&self) -> (ErrorClass, &'static str) {
        let class = match self {
            SnapshotError::NoConsent | SnapshotError::Config(_) => User,
            SnapshotError::Engine(EngineError::Input(_) | EngineError::NotTracked { .. }) => User,
            // A snapshot of a tracked pane meets the store's failures only.
            SnapshotError::Engine(_) => Unavailable,
            SnapshotError::Llm(e) => e.report().0,
        };
        (class, self.kind())
    }
}

impl Classify for LlmError {
    fn report(&self) -> (ErrorClass, &'static str) {
        let class = match self {
            LlmError::MissingKey { .. }
            | LlmError::Unauthorized { .. }
            | LlmError::UnknownModel { .. }
            | LlmError::BadRequest { .. }
            | LlmError::InvalidSettings { .. } => User,
            LlmError::Unreachable { .. }
            | LlmError::Timeout { .. }
            | LlmError::RateLimited { .. }
            | LlmError::ServerError { .. }
            | LlmError::CircuitOpen { .. }
            | LlmError::BadResponse { .. } => Unavailable,
        };
        (class, self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_classified_by_the_first_of_its_chain_that_is_zdrives() {
        let e = anyhow::Error::new(StoreError::Unavailable("redis is down".into()))
            .context("logging to pane x");
        assert_eq!(classify(&e), (ErrorClass::Unavailable, "unavailable"));
        let e = anyhow::Error::new(EngineError::NotTracked { name: "x".into() });
        assert_eq!(classify(&e), (ErrorClass::User, "not_tracked"));
        let e = anyhow::Error::new(SnapshotError::NoConsent);
        assert_eq!(classify(&e), (ErrorClass::User, "no_consent"));
        let e = anyhow::anyhow!("something else");
        assert_eq!(classify(&e), (ErrorClass::Internal, "internal"));
        let e = anyhow::Error::new(StoreError::Corrupt {
            key: "k".into(),
            reason: "r".into(),
        });
        assert_eq!(classify(&e).0.exit_code(), 4);
        let e = anyhow::Error::new(StoreError::Refused("WRONGPASS".into()));
        assert_eq!(classify(&e), (ErrorClass::Unavailable, "refused"));
        assert_eq!(classify(&e).0.exit_code(), 3);
    }
}
