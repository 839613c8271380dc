//! Payload of connect and connect-ack packets.
//!
//! Layout (18 bytes, big-endian):
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 4 | marker | ASCII `TRNC`; makes a stray packet that happens to pass the header checks fail here |
//! | 4  | 8 | nonce | random number chosen once per endpoint: a peer that restarts comes back with a new one |
//! | 12 | 2 | max datagram | largest UDP payload the sender accepts; both sides use the smaller |
//! | 14 | 1 | status | ack only: 0 = accepted, 1 = refused (too many sessions) |
//! | 15 | 1 | reserved | 0 |
//! | 16 | 2 | session | ack only: the server's session number for this session |

use super::WireError;

/// Length of the connect payload.
pub const CONNECT_LEN: usize = 18;
const MARKER: [u8; 4] = *b"TRNC";

/// Whether a server accepted a connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectStatus {
    /// Session opened.
    Accepted,
    /// The server has as many sessions as it allows.
    Refused,
}

/// The parsed connect / connect-ack payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRepr {
    /// The sender's endpoint nonce.
    pub nonce: u64,
    /// Largest UDP payload the sender accepts.
    pub max_datagram: u16,
    /// Ack only: accepted or refused (`Accepted` in a connect).
    pub status: ConnectStatus,
    /// Ack only: the server's session number (0 in a connect).
    pub server_session: u16,
}

impl ConnectRepr {
    /// Parses a connect payload. Never panics; trailing bytes are an error.
    pub fn parse(b: &[u8]) -> Result<ConnectRepr, WireError> {
        if b.len() < CONNECT_LEN {
            return Err(WireError::Truncated);
        }
        if b.len() > CONNECT_LEN {
            return Err(WireError::BadField("connect payload too long"));
        }
        if b[0..4] != MARKER {
            return Err(WireError::BadField("connect marker"));
        }
        let status = match b[14] {
            0 => ConnectStatus::Accepted,
            1 => ConnectStatus::Refused,
            _ => return Err(WireError::BadField("connect status")),
        };
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&b[4..12]);
        Ok(ConnectRepr {
            nonce: u64::from_be_bytes(nonce),
            max_datagram: u16::from_be_bytes([b[12], b[13]]),
            status,
            server_session: u16::from_be_bytes([b[16], b[17]]),
        })
    }

    /// This payload as bytes.
    pub fn to_bytes(&self) -> [u8; CONNECT_LEN] {
        let mut b = [0u8; CONNECT_LEN];
        b[0..4].copy_from_slice(&MARKER);
        b[4..12].copy_from_slice(&self.nonce.to_be_bytes());
        b[12..14].copy_from_slice(&self.max_datagram.to_be_bytes());
        b[14] = match self.status {
            ConnectStatus::Accepted => 0,
            ConnectStatus::Refused => 1,
        };
        b[16..18].copy_from_slice(&self.server_session.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_errors() {
        let r = ConnectRepr {
            nonce: 0x0102_0304_0506_0708,
            max_datagram: 1472,
            status: ConnectStatus::Refused,
            server_session: 999,
        };
        let b = r.to_bytes();
        assert_eq!(ConnectRepr::parse(&b), Ok(r));
        assert_eq!(ConnectRepr::parse(&b[..17]), Err(WireError::Truncated));
        let mut bad = b;
        bad[0] = b'X';
        assert!(ConnectRepr::parse(&bad).is_err());
        let mut bad = b;
        bad[14] = 9;
        assert!(ConnectRepr::parse(&bad).is_err());
        let mut long = b.to_vec();
        long.push(0);
        assert!(ConnectRepr::parse(&long).is_err());
    }
}
