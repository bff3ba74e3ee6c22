//! The `heart-beat` header and how two sides agree on heart-beat intervals.

/// A `heart-beat` header value `cx,cy`: what its sender can do and what it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeartBeat {
    /// Smallest interval, in milliseconds, at which the sender can send heart-beats;
    /// 0 when it cannot.
    pub send_ms: u64,
    /// Interval, in milliseconds, at which the sender wants to receive heart-beats;
    /// 0 when it does not want any.
    pub receive_ms: u64,
}

/// A `heart-beat` header value that is not two decimal numbers separated by a comma.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidHeartBeat;

impl HeartBeat {
    /// No heart-beats either way: what a missing header means.
    pub const NONE: HeartBeat = HeartBeat {
        send_ms: 0,
        receive_ms: 0,
    };

    /// Parses `cx,cy` (spaces around each number tolerated).
    ///
    /// ```
    /// use sockwire_core::stomp::HeartBeat;
    /// let hb = HeartBeat::parse(b"10000,20000").unwrap();
    /// assert_eq!((hb.send_ms, hb.receive_ms), (10000, 20000));
    /// assert!(HeartBeat::parse(b"10000").is_err());
    /// ```
    pub fn parse(value: &[u8]) -> Result<HeartBeat, InvalidHeartBeat> {
        let comma = value
            .iter()
            .position(|&b| b == b',')
            .ok_or(InvalidHeartBeat)?;
        let send = value.get(..comma).ok_or(InvalidHeartBeat)?;
        let receive = value.get(comma + 1..).ok_or(InvalidHeartBeat)?;
        Ok(HeartBeat {
            send_ms: parse_ms(send)?,
            receive_ms: parse_ms(receive)?,
        })
    }

    /// Parses an optional header: a missing one is [`HeartBeat::NONE`].
    pub fn parse_header(value: Option<&[u8]>) -> Result<HeartBeat, InvalidHeartBeat> {
        value.map_or(Ok(HeartBeat::NONE), HeartBeat::parse)
    }

    /// Writes the header value `cx,cy` into `out`.
    pub fn write_value(&self, w: &mut crate::buf::Writer<'_>) {
        w.put_decimal(self.send_ms);
        w.put(b",");
        w.put_decimal(self.receive_ms);
    }

    /// The intervals this side uses, given its own header and the peer's: in each
    /// direction none when either side says 0, otherwise the larger of the two numbers.
    ///
    /// ```
    /// use sockwire_core::stomp::HeartBeat;
    /// let client = HeartBeat { send_ms: 10000, receive_ms: 10000 };
    /// let server = HeartBeat { send_ms: 5000, receive_ms: 20000 };
    /// let agreed = server.negotiate(client);
    /// assert_eq!(agreed.send_every_ms, Some(10000)); // max(sx, cy)
    /// assert_eq!(agreed.expect_every_ms, Some(20000)); // max(cx, sy)
    /// ```
    pub fn negotiate(self, peer: HeartBeat) -> HeartBeatIntervals {
        HeartBeatIntervals {
            send_every_ms: interval(self.send_ms, peer.receive_ms),
            expect_every_ms: interval(peer.send_ms, self.receive_ms),
        }
    }
}

/// Heart-beat intervals agreed between two sides, seen from one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeartBeatIntervals {
    /// This side must send something at least this often (milliseconds).
    pub send_every_ms: Option<u64>,
    /// The peer should send something at least this often (milliseconds); with a
    /// tolerance margin, silence longer than this means the peer is gone.
    pub expect_every_ms: Option<u64>,
}

fn interval(can: u64, wants: u64) -> Option<u64> {
    if can == 0 || wants == 0 {
        None
    } else {
        Some(can.max(wants))
    }
}

fn parse_ms(digits: &[u8]) -> Result<u64, InvalidHeartBeat> {
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 19 {
        return Err(InvalidHeartBeat);
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(InvalidHeartBeat)
        } else {
            Err(InvalidHeartBeat)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(HeartBeat::parse(b"0,0"), Ok(HeartBeat::NONE));
        assert_eq!(
            HeartBeat::parse(b" 1 , 2 "),
            Ok(HeartBeat {
                send_ms: 1,
                receive_ms: 2
            })
        );
        for bad in [
            &b""[..],
            b",",
            b"1,",
            b",1",
            b"1,2,3",
            b"-1,2",
            b"a,b",
            b"99999999999999999999,1",
        ] {
            assert_eq!(HeartBeat::parse(bad), Err(InvalidHeartBeat), "{bad:?}");
        }
        assert_eq!(HeartBeat::parse_header(None), Ok(HeartBeat::NONE));
    }

    #[test]
    fn negotiation_rule() {
        let none = HeartBeat::NONE;
        let c = HeartBeat {
            send_ms: 1000,
            receive_ms: 0,
        };
        let s = HeartBeat {
            send_ms: 3000,
            receive_ms: 2000,
        };
        assert_eq!(
            s.negotiate(c),
            HeartBeatIntervals {
                send_every_ms: None,
                expect_every_ms: Some(2000)
            }
        );
        assert_eq!(
            c.negotiate(s),
            HeartBeatIntervals {
                send_every_ms: Some(2000),
                expect_every_ms: None
            }
        );
        assert_eq!(s.negotiate(none), HeartBeatIntervals::default());
    }

    #[test]
    fn writes_value() {
        let mut out = [0u8; 16];
        let mut w = crate::buf::Writer::new(&mut out);
        HeartBeat {
            send_ms: 10,
            receive_ms: 0,
        }
        .write_value(&mut w);
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], b"10,0");
    }
}
