//! Test fixtures: iMi's sandbox from the harness crate (generated git repositories, the iMi
//! binary, databases) and the macro that runs a test on both database backends.

pub use tests::imi_sandbox::{postgres_url, run_output, Backend, Run, Sandbox, FILES};

/// Expands each named test into `postgres::NAME` and `sqlite::NAME`, each given a [`Sandbox`].
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(sb) = crate::support::Sandbox::for_backend(
                        crate::support::Backend::Postgres,
                        stringify!($name),
                    ) else {
                        return;
                    };
                    super::$name(sb);
                }
            )*
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let Some(sb) = crate::support::Sandbox::for_backend(
                        crate::support::Backend::Sqlite,
                        stringify!($name),
                    ) else {
                        return;
                    };
                    super::$name(sb);
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
