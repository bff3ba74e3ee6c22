//! WebSocket wire bytes for the stack targets: client frames built from the input, and
//! the checks of what a server wrote. Not every target uses every helper.
#![allow(dead_code)]

use crate::input::Input;
use sockwire_core::pair::{Cut, Dir, Flow, Pair, Peer, WsRecord};
use sockwire_core::time::Instant;
use sockwire_core::ws::mask::apply_mask;
use sockwire_core::ws::{Config, Connection, Role};

/// A client frame carrying `payload`: mostly a masked final text, binary, continuation
/// or control frame, sometimes with odd bits (unmasked, reserved bits, any opcode), as
/// the next input byte says.
pub fn client_frame(input: &mut Input<'_>, payload: &[u8]) -> Vec<u8> {
    let flags = input.byte();
    let opcode = match flags & 7 {
        0 | 1 => 0x1,
        2 => 0x2,
        3 => 0x0,
        4 => 0x9,
        5 => 0xA,
        6 => 0x8,
        _ => flags >> 4,
    };
    let fin = flags & 0x08 == 0 || opcode == 0x0 && flags & 0x80 != 0;
    let odd = flags & 0xF0 == 0xF0;
    let rsv = if odd { input.byte() & 0x70 } else { 0 };
    let masked = !(odd && flags & 0x08 != 0);
    let mut frame = vec![u8::from(fin) << 7 | rsv | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => frame.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if masked {
        let key = [input.byte(), input.byte(), 7, 9];
        frame.extend_from_slice(&key);
        apply_mask(&mut body, key, 0);
    }
    frame.extend_from_slice(&body);
    frame
}

/// Decodes what a server wrote as a client would, checking the WebSocket rules:
/// unmasked frames, nothing after the close. Returns the data messages, whole.
pub fn server_messages(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut client = Connection::new(Role::Client, Config::default(), 1);
    let mut wire = wire.to_vec();
    let records = WsRecord::read_all(&mut client, &mut wire, Instant(0));
    match records.last() {
        Some(WsRecord::Failed(e)) => panic!("the server broke the WebSocket rules: {e:?}"),
        Some(WsRecord::Closed { .. }) => assert!(wire.is_empty(), "bytes after the close"),
        _ => {}
    }
    WsRecord::messages(&records)
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

/// Changes the options of one link of `pair` as the input says.
pub fn change_link<C: Peer, S: Peer>(pair: &mut Pair<C, S>, input: &mut Input<'_>) {
    let what = input.byte();
    let dir = if what & 1 == 0 {
        Dir::ToServer
    } else {
        Dir::ToClient
    };
    let arg = input.byte();
    let link = pair.link(dir);
    match (what >> 1) % 5 {
        0 => link.flow = Flow::Open,
        1 => link.flow = Flow::Drop,
        2 => link.flow = Flow::Hold,
        3 => link.delay_ms = u64::from(arg) * 10,
        _ => {
            link.cut = if arg == 0 {
                Cut::Whole
            } else {
                Cut::Pieces(vec![usize::from(arg % 16), usize::from(arg / 16)])
            };
            link.out_cap = usize::from(input.byte()) + 1;
        }
    }
}
