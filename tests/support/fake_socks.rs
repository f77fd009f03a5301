//! A SOCKS5 proxy on loopback (RFC 1928, with RFC 1929's username/password when asked):
//! every CONNECT, whatever host it names, is joined to one local target, and the host and
//! port asked for, and the credentials given, are recorded.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Seen {
    connects: Vec<String>,
    logins: Vec<(String, String)>,
}

pub struct FakeSocks {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl FakeSocks {
    /// Joins every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = shared.clone();
                tokio::spawn(async move {
                    let _ = relay(client, target, seen).await;
                });
            }
        });
        Self { addr, seen }
    }

    /// `host:port` of each CONNECT.
    pub fn connects(&self) -> Vec<String> {
        self.seen.lock().unwrap().connects.clone()
    }

    pub fn logins(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().logins.clone()
    }
}

async fn read_string(s: &mut TcpStream) -> std::io::Result<String> {
    let len = s.read_u8().await?;
    let mut buf = vec![0; usize::from(len)];
    s.read_exact(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    seen: Arc<Mutex<Seen>>,
) -> std::io::Result<()> {
    // Greeting: version 5, the methods offered; password (2) when offered, else none (0).
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0; usize::from(head[1])];
    client.read_exact(&mut methods).await?;
    if methods.contains(&2) {
        client.write_all(&[5, 2]).await?;
        let _version = client.read_u8().await?;
        let user = read_string(&mut client).await?;
        let password = read_string(&mut client).await?;
        seen.lock().unwrap().logins.push((user, password));
        client.write_all(&[1, 0]).await?;
    } else {
        client.write_all(&[5, 0]).await?;
    }
    // Request: version, CONNECT, reserved, address type.
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => read_string(&mut client).await?,
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            std::net::Ipv6Addr::from(ip).to_string()
        }
    };
    let port = client.read_u16().await?;
    seen.lock().unwrap().connects.push(format!("{host}:{port}"));
    let mut upstream = TcpStream::connect(target).await?;
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
