//! Frames: a 32-bit little-endian length, then that many bytes of UTF-8
//! JSON, one object per frame. Thunderbird's native messaging uses exactly
//! this on the host's standard input and output; the wallet's local socket
//! uses it too, so that one reader with one set of limits serves both.
//!
//! A frame's length is checked before a byte of it is read: a length over
//! the reader's limit is refused at once (the stream cannot be trusted
//! after it, so the connection ends), and once a length has come, the rest
//! of the frame must follow within [`BODY_TIME`].

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Thunderbird refuses a frame from the host longer than 1 MiB.
pub const TO_ADDON_MAX: usize = 1024 * 1024;
/// A mail of the largest size MailPay reads (4 MiB) in base64, with room
/// for the rest of its frame.
pub const FROM_PEER_MAX: usize = 6 * 1024 * 1024;
/// How long the body of a frame may take once its length has come.
pub const BODY_TIME: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The other end closed the stream between frames.
    #[error("the connection was closed")]
    Closed,
    #[error("a frame of {length} bytes is longer than the {max} this end takes")]
    TooLong { length: usize, max: usize },
    #[error("the frame's body did not come within {0:?}")]
    Slow(Duration),
    #[error("reading or writing the connection failed: {0}")]
    Io(String),
    /// The frame was read whole: the stream is still in step, and the
    /// next frame can be read.
    #[error("a frame is not a message this end understands: {0}")]
    NotUnderstood(String),
}

impl FrameError {
    /// Whether the stream can still be read after this error.
    pub fn in_step(&self) -> bool {
        matches!(self, FrameError::NotUnderstood(_))
    }
}

/// Reads one frame's bytes; `Closed` at a clean end between frames.
pub async fn read_bytes<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e.to_string())),
    }
    let length = u32::from_le_bytes(length) as usize;
    if length > max {
        return Err(FrameError::TooLong { length, max });
    }
    let mut body = vec![0u8; length];
    match tokio::time::timeout(BODY_TIME, reader.read_exact(&mut body)).await {
        Ok(Ok(_)) => Ok(body),
        Ok(Err(e)) => Err(FrameError::Io(e.to_string())),
        Err(_) => Err(FrameError::Slow(BODY_TIME)),
    }
}

/// Reads one frame as a message of type `T`.
pub async fn read<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<T, FrameError> {
    let body = read_bytes(reader, max).await?;
    serde_json::from_slice(&body).map_err(|e| FrameError::NotUnderstood(e.to_string()))
}

/// The frame of `message`, refused when longer than `max`.
pub fn encode<T: Serialize>(message: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let json = serde_json::to_vec(message).map_err(|e| FrameError::Io(e.to_string()))?;
    if json.len() > max {
        return Err(FrameError::TooLong { length: json.len(), max });
    }
    let mut frame = Vec::with_capacity(4 + json.len());
    frame.extend_from_slice(&(json.len() as u32).to_le_bytes());
    frame.extend_from_slice(&json);
    Ok(frame)
}

/// Writes one message as a frame and flushes it.
pub async fn write<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &T,
    max: usize,
) -> Result<(), FrameError> {
    let frame = encode(message, max)?;
    writer.write_all(&frame).await.map_err(|e| FrameError::Io(e.to_string()))?;
    writer.flush().await.map_err(|e| FrameError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_frame_is_a_little_endian_length_and_json() {
        let frame = encode(&serde_json::json!({"type": "hello"}), 100).unwrap();
        assert_eq!(&frame[..4], &[16, 0, 0, 0]);
        assert_eq!(&frame[4..], br#"{"type":"hello"}"#);
        let back: serde_json::Value = runtime().block_on(read(&mut &frame[..], 100)).unwrap();
        assert_eq!(back["type"], "hello");
    }

    #[test]
    fn a_length_over_the_limit_is_refused_before_its_body_is_read() {
        // 4 GiB announced, nothing after it: refused at once, not awaited.
        let frame = [0xff, 0xff, 0xff, 0xff];
        let got = runtime().block_on(read_bytes(&mut &frame[..], FROM_PEER_MAX));
        assert_eq!(got, Err(FrameError::TooLong { length: u32::MAX as usize, max: FROM_PEER_MAX }));
        assert!(encode(&"x".repeat(200), 100).is_err());
    }

    #[test]
    fn garbage_in_a_whole_frame_leaves_the_stream_in_step() {
        let mut stream = b"\x03\x00\x00\x00{{{".to_vec();
        stream.extend(encode(&serde_json::json!({"type": "next"}), 100).unwrap());
        let mut reader = &stream[..];
        let rt = runtime();
        let first = rt.block_on(read::<serde_json::Value, _>(&mut reader, 100)).unwrap_err();
        assert!(first.in_step(), "{first}");
        let second: serde_json::Value = rt.block_on(read(&mut reader, 100)).unwrap();
        assert_eq!(second["type"], "next");
        assert_eq!(rt.block_on(read_bytes(&mut reader, 100)), Err(FrameError::Closed));
    }

    #[test]
    fn a_cut_frame_is_an_error_not_a_clean_end() {
        let got = runtime().block_on(read_bytes(&mut &b"\x10\x00\x00\x00abc"[..], 100));
        assert!(matches!(got, Err(FrameError::Io(_))), "{got:?}");
        let got = runtime().block_on(read_bytes(&mut &b"\x10\x00"[..], 100));
        assert_eq!(got, Err(FrameError::Closed));
    }
}
