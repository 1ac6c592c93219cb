//! The benches' side of PostgreSQL: an admin connection to the server `FLOW_TEST_POSTGRES`
//! names, to create and drop their databases.

#![allow(dead_code)]

pub(crate) async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Creates database `name` on the server `admin_url` names; returns its URL.
pub(crate) async fn create_database(admin_url: &str, name: &str) -> String {
    let sql = format!("CREATE DATABASE {name}");
    admin(admin_url).await.batch_execute(&sql).await.unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Drops database `name` (what still uses it is disconnected).
pub(crate) async fn drop_database(admin_url: &str, name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    admin(admin_url).await.batch_execute(&sql).await.unwrap();
}
