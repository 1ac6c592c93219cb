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
