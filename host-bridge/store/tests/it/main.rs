//! Integration tests of the store: one contract suite run against real PostgreSQL and SQLite.

/// Expands each named test into `postgres::NAME` and `sqlite::NAME`, each given a fresh
/// [`fixture::Fixture`] of its engine (the PostgreSQL one skipped without a server, never under
/// `CI=true`).
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(fixture) = crate::fixture::postgres(stringify!($name)).await else {
                        return;
                    };
                    super::$name(fixture).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(fixture) = crate::fixture::sqlite(stringify!($name)).await else {
                        return;
                    };
                    super::$name(fixture).await;
                }
            )*
        }
    };
}

mod contract;
mod fixture;
mod open;
mod persist_sessions;
mod sql_layer;
mod sqlx_history;
mod team_server;
