//! Accept loop and per-connection I/O: keep-alive, delays and the byte-level
//! behaviour of the fault modes.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::faults::Action;
use crate::handler::{handle, State};
use crate::http::{read_request, ReadError, Response};

const DRIP_INTERVAL: Duration = Duration::from_millis(200);

/// Serves until `shutdown` becomes true; open connections end with it too.
pub async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let Ok((stream, _)) = accepted else {
            // E.g. EMFILE under load: back off briefly instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(stream, &state) => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
        });
    }
}

async fn connection(mut stream: TcpStream, state: &State) {
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(Some(req)) => req,
            Ok(None) | Err(ReadError::Closed) => return,
            Err(ReadError::Bad(msg)) => {
                let resp = Response::error(400, &msg);
                let _ = stream.write_all(&resp.to_bytes(false)).await;
                return;
            }
        };
        let answering = state.log.begin();
        let reply = handle(state, &req);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        // In flight until the answer starts: by then the client may already read it and send its next
        // request, which must not count as overlapping this one.
        drop(answering);
        let keep_alive = req.keep_alive;
        let sent = match reply.action {
            Action::Send(resp) => send(&mut stream, &resp, keep_alive).await,
            Action::Reset(resp) => return reset(stream, resp).await,
            Action::Drip(resp) => drip(&mut stream, &resp.to_bytes(keep_alive)).await,
            Action::Hang => return hang(stream).await,
        };
        if sent.is_err() || !keep_alive {
            return;
        }
    }
}

/// Head and body in one vectored write, without copying the (large) body.
async fn send(stream: &mut TcpStream, resp: &Response, keep_alive: bool) -> io::Result<()> {
    let head = resp.head_bytes(resp.body.len(), keep_alive);
    let (total, mut done) = (head.len() + resp.body.len(), 0);
    while done < total {
        let n = match head.get(done..) {
            Some(rest) if !rest.is_empty() => {
                let parts = [IoSlice::new(rest), IoSlice::new(&resp.body)];
                stream.write_vectored(&parts).await?
            }
            _ => stream.write(&resp.body[done - head.len()..]).await?,
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        done += n;
    }
    Ok(())
}

/// Full Content-Length, half the body, then RST (SO_LINGER 0 + close).
async fn reset(mut stream: TcpStream, resp: Response) {
    let mut bytes = resp.head_bytes(resp.body.len(), true);
    bytes.extend_from_slice(&resp.body[..resp.body.len() / 2]);
    if stream.write_all(&bytes).await.is_ok() {
        let _ = stream.flush().await;
        // Let the partial body reach the client before the RST discards it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A zero linger never blocks on drop, which is why tokio deprecates the
    // general setter; this is the one case where it is wanted.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn drip(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    for b in bytes {
        stream.write_all(std::slice::from_ref(b)).await?;
        tokio::time::sleep(DRIP_INTERVAL).await;
    }
    Ok(())
}

/// Never answer; wait for the client to close (or reset) the connection.
async fn hang(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}
