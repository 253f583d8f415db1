//! The Redis coordinator against a real `redis-server` on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use godepot_coord::{Coordinator, Fence, Lease, Redis, Token};
use godepot_testkit::redis::RedisServer;

#[tokio::test]
async fn leases_are_exclusive_expire_and_answer_only_their_token() {
    let server = RedisServer::start();
    let redis = Redis::new(&server.url()).unwrap();
    let ttl = Duration::from_millis(300);
    let a = redis
        .try_acquire("m/@v/v1.0.0.zip", ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(
        redis
            .try_acquire("m/@v/v1.0.0.zip", ttl)
            .await
            .unwrap()
            .is_none()
    );
    assert!(redis.holds("m/@v/v1.0.0.zip", &a).await.unwrap());
    let other = Token::generate();
    assert!(!redis.holds("m/@v/v1.0.0.zip", &other).await.unwrap());
    assert!(!redis.renew("m/@v/v1.0.0.zip", &other, ttl).await.unwrap());
    redis.release("m/@v/v1.0.0.zip", &other).await.unwrap();
    assert!(
        redis.holds("m/@v/v1.0.0.zip", &a).await.unwrap(),
        "a stranger cannot release it"
    );
    assert!(redis.renew("m/@v/v1.0.0.zip", &a, ttl).await.unwrap());
    tokio::time::sleep(ttl * 2).await;
    assert!(
        !redis.holds("m/@v/v1.0.0.zip", &a).await.unwrap(),
        "expired"
    );
    assert!(!redis.renew("m/@v/v1.0.0.zip", &a, ttl).await.unwrap());
    let b = redis
        .try_acquire("m/@v/v1.0.0.zip", ttl)
        .await
        .unwrap()
        .unwrap();
    redis.release("m/@v/v1.0.0.zip", &a).await.unwrap();
    assert!(
        redis.holds("m/@v/v1.0.0.zip", &b).await.unwrap(),
        "the expired holder cannot release the new one's"
    );
    redis.release("m/@v/v1.0.0.zip", &b).await.unwrap();
    assert!(
        redis
            .try_acquire("m/@v/v1.0.0.zip", ttl)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_held_lease_is_renewed_and_fenced() {
    let server = RedisServer::start();
    let coordinator: Arc<dyn Coordinator> = Arc::new(Redis::new(&server.url()).unwrap());
    let ttl = Duration::from_millis(300);
    let lease = Lease::try_take(&coordinator, "x", ttl)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(ttl * 3).await;
    assert_eq!(lease.fence().await, Fence::Held, "renewed by its task");
    lease.release().await;
    assert!(
        Lease::try_take(&coordinator, "x", ttl)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_restarted_redis_is_an_error_then_works_again_without_a_new_client() {
    let mut server = RedisServer::start();
    let coordinator: Arc<dyn Coordinator> = Arc::new(Redis::new(&server.url()).unwrap());
    let ttl = Duration::from_secs(30);
    let lease = Lease::try_take(&coordinator, "y", ttl)
        .await
        .unwrap()
        .unwrap();
    server.stop();
    let started = Instant::now();
    let err = coordinator.try_acquire("z", ttl).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fails fast: {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string()
            .contains(&format!("redis://{}", server.addr())),
        "{err}"
    );
    assert!(matches!(lease.fence().await, Fence::Unknown(_)));
    server.restart();
    // Reconnects by itself; the restarted Redis has forgotten every lease.
    let deadline = Instant::now() + Duration::from_secs(20);
    let taken = loop {
        match coordinator.try_acquire("y", ttl).await {
            Ok(taken) => break taken,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no recovery after the restart: {e}"),
        }
    };
    assert!(taken.is_some(), "the old lease is gone with the old Redis");
    assert_eq!(lease.fence().await, Fence::Lost, "and its holder knows it");
}

#[tokio::test]
async fn a_password_in_the_url_is_used_and_never_shown() {
    let server = RedisServer::start_with_password(Some("s3cret-pass"));
    let redis = Redis::new(&server.url()).unwrap();
    assert!(
        redis
            .try_acquire("p", Duration::from_secs(5))
            .await
            .unwrap()
            .is_some()
    );
    assert!(!redis.describe().contains("s3cret"), "{}", redis.describe());
    assert!(!format!("{redis:?}").contains("s3cret"));
    let wrong = Redis::new(&format!("redis://:wrong-pass@{}", server.addr())).unwrap();
    let err = wrong
        .try_acquire("p", Duration::from_secs(5))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("wrong-pass"), "{err}");
}
