//! Frame codec tests: the specification's examples, splitting, limits, escaping, and
//! properties (round trips, no panics, byte-by-byte equals one-shot).

extern crate std;

use super::*;
use std::vec::Vec;

/// An owned copy of a decoded frame, headers unescaped, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    command: Command,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

impl Owned {
    fn of(frame: &Frame<'_>) -> Owned {
        Owned {
            command: frame.command(),
            headers: frame
                .headers()
                .map(|(n, v)| (n.bytes().collect(), v.bytes().collect()))
                .collect(),
            body: frame.body().to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Frame(Owned),
    HeartBeat,
}

/// Decodes all of `input` in one go: items, then the error or the length left over.
fn decode_all(dec: &mut Decoder, input: &[u8]) -> (Vec<Item>, Result<usize, DecodeError>) {
    let mut items = Vec::new();
    let mut at = 0;
    loop {
        let rest = input.get(at..).unwrap_or_default();
        match dec.decode(rest) {
            Ok(Decoded::Frame { frame, consumed }) => {
                items.push(Item::Frame(Owned::of(&frame)));
                at += consumed;
            }
            Ok(Decoded::HeartBeat { consumed }) => {
                items.push(Item::HeartBeat);
                at += consumed;
            }
            Ok(Decoded::Incomplete) => return (items, Ok(rest.len())),
            Err(e) => return (items, Err(e)),
        }
    }
}

/// Feeds `input` in pieces ending at `cuts`, as a caller buffering unconsumed bytes would.
fn decode_chunked(
    dec: &mut Decoder,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<Item>, Result<usize, DecodeError>) {
    let mut items = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    ends.sort_unstable();
    ends.push(input.len());
    for end in ends {
        if end < fed {
            continue;
        }
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match dec.decode(&buf) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    items.push(Item::Frame(Owned::of(&frame)));
                    buf.drain(..consumed);
                }
                Ok(Decoded::HeartBeat { consumed }) => {
                    items.push(Item::HeartBeat);
                    buf.drain(..consumed);
                }
                Ok(Decoded::Incomplete) => break,
                Err(e) => return (items, Err(e)),
            }
        }
    }
    (items, Ok(buf.len()))
}

fn one(input: &[u8]) -> Owned {
    one_with(&mut Decoder::default(), input)
}

fn one_with(dec: &mut Decoder, input: &[u8]) -> Owned {
    match dec.decode(input) {
        Ok(Decoded::Frame { frame, consumed }) => {
            assert_eq!(consumed, input.len(), "frame should take the whole input");
            Owned::of(&frame)
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

fn err(input: &[u8]) -> DecodeError {
    err_with(&mut Decoder::default(), input)
}

fn err_with(dec: &mut Decoder, input: &[u8]) -> DecodeError {
    match decode_all(dec, input) {
        (_, Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// `dec` waits on `waiting`, then rejects `rejected` (the same input, further along) with
/// `error`: the verdict comes before the frame ends.
fn rejected_early(mut dec: Decoder, waiting: &[u8], rejected: &[u8], error: DecodeError) {
    assert_eq!(dec.decode(waiting), Ok(Decoded::Incomplete));
    assert_eq!(dec.decode(rejected), Err(error));
}

fn hs(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn check(input: &[u8], command: Command, headers: &[(&str, &str)], body: &[u8]) {
    let expected = Owned {
        command,
        headers: hs(headers),
        body: body.to_vec(),
    };
    assert_eq!(one(input), expected);
    // Split at every position: same frame, nothing left over.
    for cut in 0..=input.len() {
        let (items, rest) = decode_chunked(&mut Decoder::default(), input, &[cut]);
        assert_eq!(items, [Item::Frame(expected.clone())], "cut at {cut}");
        assert_eq!(rest, Ok(0));
    }
    // Byte by byte.
    let cuts: Vec<usize> = (0..input.len()).collect();
    let (items, _) = decode_chunked(&mut Decoder::default(), input, &cuts);
    assert_eq!(items, [Item::Frame(expected)]);
}

// --- The examples of the STOMP 1.2 specification, verbatim (^@ is the NUL). ---

#[test]
fn spec_frame_structure() {
    check(
        b"COMMAND\nheader1:value1\nheader2:value2\n\nBody\0"
            .replace_command(b"SEND")
            .as_slice(),
        Command::Send,
        &[("header1", "value1"), ("header2", "value2")],
        b"Body",
    );
}

trait ReplaceCommand {
    fn replace_command(&self, cmd: &[u8]) -> Vec<u8>;
}

impl ReplaceCommand for [u8] {
    fn replace_command(&self, cmd: &[u8]) -> Vec<u8> {
        let lf = self.iter().position(|&b| b == b'\n').unwrap();
        let mut v = cmd.to_vec();
        v.extend_from_slice(&self[lf..]);
        v
    }
}

#[test]
fn spec_repeated_header_first_wins() {
    let input = b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0";
    let Ok(Decoded::Frame { frame, .. }) = Decoder::default().decode(input) else {
        panic!()
    };
    assert!(frame.header("foo").unwrap() == "World");
    assert_eq!(frame.raw_headers().count(), 2);
    assert_eq!(frame.raw_headers().nth(1).unwrap().value, b"Hello");
}

#[test]
fn spec_connect_and_stomp() {
    let h = [("accept-version", "1.2"), ("host", "stomp.github.org")];
    check(
        b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Command::Connect,
        &h,
        b"",
    );
    check(
        b"STOMP\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Command::Stomp,
        &h,
        b"",
    );
    check(
        b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
        Command::Connect,
        &[
            ("accept-version", "1.0,1.1,2.0"),
            ("host", "stomp.github.org"),
        ],
        b"",
    );
}

#[test]
fn spec_connected() {
    check(
        b"CONNECTED\nversion:1.2\n\n\0",
        Command::Connected,
        &[("version", "1.2")],
        b"",
    );
    check(
        b"CONNECTED\nversion:1.1\n\n\0",
        Command::Connected,
        &[("version", "1.1")],
        b"",
    );
}

#[test]
fn spec_negotiation_error() {
    check(
        b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1\0",
        Command::Error,
        &[("version", "1.2,2.1"), ("content-type", "text/plain")],
        b"Supported protocol versions are 1.2 2.1",
    );
}

#[test]
fn spec_client_frames() {
    check(
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
        Command::Send,
        &[("destination", "/queue/a"), ("content-type", "text/plain")],
        b"hello queue a\n",
    );
    check(
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a\0",
        Command::Send,
        &[("destination", "/queue/a"), ("receipt", "message-12345")],
        b"hello queue a",
    );
    check(
        b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
        Command::Subscribe,
        &[
            ("id", "0"),
            ("destination", "/queue/foo"),
            ("ack", "client"),
        ],
        b"",
    );
    check(
        b"UNSUBSCRIBE\nid:0\n\n\0",
        Command::Unsubscribe,
        &[("id", "0")],
        b"",
    );
    let ack = [("id", "12345"), ("transaction", "tx1")];
    check(
        b"ACK\nid:12345\ntransaction:tx1\n\n\0",
        Command::Ack,
        &ack,
        b"",
    );
    // The specification gives NACK no example: "NACK takes the same headers as ACK".
    check(
        b"NACK\nid:12345\ntransaction:tx1\n\n\0",
        Command::Nack,
        &ack,
        b"",
    );
    let tx = [("transaction", "tx1")];
    check(b"BEGIN\ntransaction:tx1\n\n\0", Command::Begin, &tx, b"");
    check(b"COMMIT\ntransaction:tx1\n\n\0", Command::Commit, &tx, b"");
    check(b"ABORT\ntransaction:tx1\n\n\0", Command::Abort, &tx, b"");
}

#[test]
fn spec_disconnect_and_receipt_without_blank_line() {
    // The specification's DISCONNECT/RECEIPT examples have no blank line before the NUL.
    check(
        b"DISCONNECT\nreceipt:77\n\0",
        Command::Disconnect,
        &[("receipt", "77")],
        b"",
    );
    check(
        b"RECEIPT\nreceipt-id:77\n\0",
        Command::Receipt,
        &[("receipt-id", "77")],
        b"",
    );
    check(b"DISCONNECT\n\0", Command::Disconnect, &[], b"");
    // ... but not when a content-length announces a body.
    assert_eq!(
        err(b"SEND\ncontent-length:3\n\0abc\0"),
        DecodeError::MalformedHeader
    );
    check(
        b"SEND\ncontent-length:0\n\0",
        Command::Send,
        &[("content-length", "0")],
        b"",
    );
}

#[test]
fn spec_server_frames() {
    check(
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
        Command::Message,
        &[
            ("subscription", "0"),
            ("message-id", "007"),
            ("destination", "/queue/a"),
            ("content-type", "text/plain"),
        ],
        b"hello queue a",
    );
    check(
        b"RECEIPT\nreceipt-id:message-12345\n\n\0",
        Command::Receipt,
        &[("receipt-id", "message-12345")],
        b"",
    );
}

const ERROR_BODY: &[u8] = b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n";

fn spec_error_frame(length: usize) -> Vec<u8> {
    let mut v = std::format!(
        "ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:{length}\nmessage: malformed frame received\n\n"
    )
    .into_bytes();
    v.extend_from_slice(ERROR_BODY);
    v.push(0);
    v
}

#[test]
fn spec_error_frame_example() {
    // The example announces content-length:171 for a body of 170 octets, so read
    // verbatim it is one octet short: the decoder waits for the missing octet and the
    // NUL after it, and a following frame (or EOL) is a MissingNul error.
    assert_eq!(ERROR_BODY.len(), 170);
    let verbatim = spec_error_frame(171);
    let (items, rest) = decode_all(&mut Decoder::default(), &verbatim);
    assert!(items.is_empty());
    assert_eq!(rest, Ok(verbatim.len()));
    let mut followed = verbatim.clone();
    followed.extend_from_slice(b"\n\n");
    assert_eq!(err(&followed), DecodeError::MissingNul);
    // With the body's real length it decodes; the header value keeps its leading space.
    check(
        &spec_error_frame(170),
        Command::Error,
        &[
            ("receipt-id", "message-12345"),
            ("content-type", "text/plain"),
            ("content-length", "170"),
            ("message", " malformed frame received"),
        ],
        ERROR_BODY,
    );
}

#[test]
fn spec_heart_beat_header() {
    let f = one(b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\nheart-beat:10000,5000\n\n\0");
    let hb = HeartBeat::parse(f.header("heart-beat").unwrap()).unwrap();
    assert_eq!((hb.send_ms, hb.receive_ms), (10000, 5000));
}

// --- Streams ---

#[test]
fn several_frames_with_heart_beats_between() {
    let input = b"\n\r\nSEND\ndestination:/a\n\nx\0\n\nMESSAGE\r\nid:1\r\n\r\n\0\r\n\nRECEIPT\nreceipt-id:2\n\n\0\n";
    let send = Owned {
        command: Command::Send,
        headers: hs(&[("destination", "/a")]),
        body: b"x".to_vec(),
    };
    let message = Owned {
        command: Command::Message,
        headers: hs(&[("id", "1")]),
        body: Vec::new(),
    };
    let receipt = Owned {
        command: Command::Receipt,
        headers: hs(&[("receipt-id", "2")]),
        body: Vec::new(),
    };
    let hb = Item::HeartBeat;
    let expected = [
        hb.clone(),
        hb.clone(),
        Item::Frame(send),
        hb.clone(),
        hb.clone(),
        Item::Frame(message),
        hb.clone(),
        hb.clone(),
        Item::Frame(receipt),
        hb,
    ];
    let (items, rest) = decode_all(&mut Decoder::default(), input);
    assert_eq!(items, expected);
    assert_eq!(rest, Ok(0));
    for cut in 0..=input.len() {
        for cut2 in cut..=input.len() {
            let (items, rest) = decode_chunked(&mut Decoder::default(), input, &[cut, cut2]);
            assert_eq!(items, expected, "cuts {cut} {cut2}");
            assert_eq!(rest, Ok(0));
        }
    }
}

#[test]
fn lone_cr_waits_then_heart_beat() {
    let mut dec = Decoder::default();
    assert_eq!(dec.decode(b"\r"), Ok(Decoded::Incomplete));
    assert_eq!(dec.decode(b"\r\n"), Ok(Decoded::HeartBeat { consumed: 2 }));
    assert_eq!(dec.decode(b""), Ok(Decoded::Incomplete));
    assert_eq!(err(b"\rX\n\n\0"), DecodeError::UnknownCommand);
}

#[test]
fn crlf_everywhere() {
    check(
        b"SEND\r\ndestination:/a\r\ncontent-length:2\r\n\r\nab\0",
        Command::Send,
        &[("destination", "/a"), ("content-length", "2")],
        b"ab",
    );
}

// --- Bodies ---

#[test]
fn content_length_body_with_nuls() {
    check(
        b"SEND\ncontent-length:5\n\na\0b\0c\0",
        Command::Send,
        &[("content-length", "5")],
        b"a\0b\0c",
    );
    check(
        b"MESSAGE\ncontent-length: 3 \n\n\0\0\0\0",
        Command::Message,
        &[("content-length", " 3 ")],
        b"\0\0\0",
    );
    assert_eq!(
        err(b"SEND\ncontent-length:1\n\nab\0"),
        DecodeError::MissingNul
    );
}

#[test]
fn first_content_length_wins() {
    check(
        b"SEND\ncontent-length:3\ncontent-length:1\n\na\0b\0",
        Command::Send,
        &[("content-length", "3"), ("content-length", "1")],
        b"a\0b",
    );
}

#[test]
fn invalid_content_length() {
    for bad in [
        &b"SEND\ncontent-length:\n\n\0"[..],
        b"SEND\ncontent-length:-1\n\n\0",
        b"SEND\ncontent-length:1x\n\nx\0",
        b"SEND\ncontent-length:0x1\n\nx\0",
    ] {
        assert_eq!(err(bad), DecodeError::InvalidContentLength);
    }
}

#[test]
fn body_without_content_length_ends_at_first_nul() {
    let (items, rest) = decode_all(&mut Decoder::default(), b"SEND\n\nab\0cd\0\n");
    assert_eq!(items.len(), 1);
    // "cd\0" is not a command.
    assert_eq!(rest, Err(DecodeError::UnknownCommand));
}

// --- Headers and escaping ---

#[test]
fn header_value_may_contain_colons() {
    check(
        b"SEND\ndestination:/a:b:c\n\n\0",
        Command::Send,
        &[("destination", "/a:b:c")],
        b"",
    );
    check(b"SEND\nempty:\n\n\0", Command::Send, &[("empty", "")], b"");
}

#[test]
fn malformed_headers() {
    for bad in [
        &b"SEND\nnocolon\n\n\0"[..],
        b"SEND\n:value\n\n\0",
        b"SEND\na:b\0c\n\n\0",
    ] {
        assert_eq!(err(bad), DecodeError::MalformedHeader, "{bad:?}");
    }
}

#[test]
fn unknown_commands() {
    assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), DecodeError::UnknownCommand);
    assert_eq!(err(b"send\n\n\0"), DecodeError::UnknownCommand);
    // Detected before the line ends once no command can be that long.
    rejected_early(
        Decoder::default(),
        b"UNSUBSCRIBE\r",
        b"UNSUBSCRIBEXX",
        DecodeError::UnknownCommand,
    );
}

#[test]
fn escapes_per_version() {
    let input = b"MESSAGE\na\\cb:x\\ny\\\\z\n\n\0";
    for (v, name, value) in [
        (Version::V1_0, &b"a\\cb"[..], &b"x\\ny\\\\z"[..]),
        (Version::V1_1, b"a:b", b"x\ny\\z"),
        (Version::V1_2, b"a:b", b"x\ny\\z"),
    ] {
        let mut dec = Decoder::default();
        dec.set_version(v);
        let f = one_with(&mut dec, input);
        assert_eq!(f.headers, [(name.to_vec(), value.to_vec())], "{v:?}");
    }
    // \r: 1.2 only.
    let input = b"MESSAGE\na:x\\ry\n\n\0";
    let mut dec = Decoder::default();
    dec.set_version(Version::V1_2);
    assert_eq!(one_with(&mut dec, input).header("a"), Some(&b"x\ry"[..]));
    dec.set_version(Version::V1_1);
    assert_eq!(err_with(&mut dec, input), DecodeError::InvalidEscape);
    dec.set_version(Version::V1_0);
    assert_eq!(one_with(&mut dec, input).header("a"), Some(&b"x\\ry"[..]));
}

#[test]
fn undefined_escapes_are_fatal() {
    for v in [Version::V1_1, Version::V1_2] {
        for bad in [
            &b"SEND\na:\\t\n\n\0"[..],
            b"SEND\na\\x:b\n\n\0",
            b"SEND\na:b\\\n\n\0",
        ] {
            let mut dec = Decoder::default();
            dec.set_version(v);
            assert_eq!(err_with(&mut dec, bad), DecodeError::InvalidEscape);
        }
    }
    let mut dec = Decoder::default();
    dec.set_version(Version::V1_0);
    one_with(&mut dec, b"SEND\na:\\t\n\n\0");
}

#[test]
fn handshake_frames_never_unescaped() {
    for v in Version::ALL {
        for cmd in ["CONNECT", "STOMP", "CONNECTED"] {
            let mut input = cmd.as_bytes().to_vec();
            input.extend_from_slice(b"\nlogin:a\\cb\\t\npasscode:x\\\n\n\0");
            let mut dec = Decoder::default();
            dec.set_version(v);
            let f = one_with(&mut dec, &input);
            assert_eq!(
                f.headers,
                hs(&[("login", "a\\cb\\t"), ("passcode", "x\\")]),
                "{cmd} {v:?}"
            );
        }
    }
}

#[test]
fn lookup_unescapes_lazily() {
    let input = b"MESSAGE\nmy\\cname:va\\nlue\nplain:abc\n\n\0";
    let Ok(Decoded::Frame { frame, .. }) = Decoder::default().decode(input) else {
        panic!()
    };
    let v = frame.header("my:name").unwrap();
    assert_eq!(v.raw(), b"va\\nlue");
    assert!(v == "va\nlue");
    assert_eq!(v.borrowed(), None);
    let mut out = [0u8; 16];
    assert_eq!(v.decode_into(&mut out), Ok(&b"va\nlue"[..]));
    assert_eq!(frame.header("plain").unwrap().as_str(), Some("abc"));
    assert!(frame.header("my\\cname").is_none());
    assert!(frame.header("missing").is_none());
}

// --- Limits ---

fn limits(max_headers: usize, max_header_line: usize, max_body: usize) -> Decoder {
    Decoder::new(Limits {
        max_headers,
        max_header_line,
        max_body,
    })
}

#[test]
fn limit_header_count() {
    let ok = b"SEND\na:1\nb:2\n\n\0";
    one_with(&mut limits(2, 100, 100), ok);
    assert_eq!(
        err_with(&mut limits(1, 100, 100), ok),
        DecodeError::TooManyHeaders
    );
}

#[test]
fn limit_header_line() {
    let ok = b"SEND\nabc:12345\r\n\r\n\0";
    one_with(&mut limits(8, 9, 100), ok);
    assert_eq!(
        err_with(&mut limits(8, 8, 100), ok),
        DecodeError::HeaderLineTooLong
    );
    // Detected before the line ends.
    rejected_early(
        limits(8, 8, 100),
        b"SEND\nabc:1234\r",
        b"SEND\nabc:1234\r5",
        DecodeError::HeaderLineTooLong,
    );
}

#[test]
fn limit_verdicts_do_not_depend_on_chunking() {
    // One header allowed; the second header line is also too long. Whole or in pieces,
    // the verdict is the same (the count is checked first).
    let input = b"SEND\na:1\nbbbbbbbbbbbbbbbbbbbb:2\n\n\0";
    for cut in 0..=input.len() {
        let (_, rest) = decode_chunked(&mut limits(1, 8, 100), input, &[cut]);
        assert_eq!(rest, Err(DecodeError::TooManyHeaders), "cut {cut}");
    }
}

#[test]
fn limit_body() {
    one_with(&mut limits(8, 100, 3), b"SEND\n\nabc\0");
    one_with(&mut limits(8, 100, 3), b"SEND\ncontent-length:3\n\nabc\0");
    assert_eq!(
        err_with(&mut limits(8, 100, 2), b"SEND\n\nabc\0"),
        DecodeError::BodyTooLarge
    );
    // Without a NUL in sight: as soon as the body passes the limit.
    rejected_early(
        limits(8, 100, 2),
        b"SEND\n\nab",
        b"SEND\n\nabc",
        DecodeError::BodyTooLarge,
    );
    // content-length: as soon as the header line is complete, before any body.
    let mut dec = limits(8, 100, 2);
    assert_eq!(
        dec.decode(b"SEND\ncontent-length:3\n"),
        Err(DecodeError::BodyTooLarge)
    );
    assert_eq!(
        err_with(
            &mut limits(8, 100, 1 << 20),
            b"SEND\ncontent-length:99999999999999999999999999\n\n"
        ),
        DecodeError::BodyTooLarge
    );
}

#[test]
fn errors_have_messages() {
    for e in [
        DecodeError::UnknownCommand,
        DecodeError::MalformedHeader,
        DecodeError::InvalidEscape,
        DecodeError::InvalidContentLength,
        DecodeError::MissingNul,
        DecodeError::TooManyHeaders,
        DecodeError::HeaderLineTooLong,
        DecodeError::BodyTooLarge,
    ] {
        assert!(!e.message().is_empty());
        assert!(!e.message().contains('\n'));
    }
}

#[test]
fn decoder_restarts_when_input_shrinks() {
    let mut dec = Decoder::default();
    assert_eq!(dec.decode(b"SEND\na:b\n"), Ok(Decoded::Incomplete));
    // A caller that dropped its bytes: no panic, and a fresh frame decodes.
    assert_eq!(
        dec.decode(b"ACK\n\n\0")
            .map(|d| matches!(d, Decoded::Frame { .. })),
        Ok(true)
    );
}

#[test]
fn large_frame_in_small_pieces_is_linear() {
    // 60 KiB body, fed 7 bytes at a time: every call resumes where the last scan
    // stopped, so the total scanning is linear. (Checked by behaviour, not by time.)
    let mut input = b"SEND\ndestination:/a\n\n".to_vec();
    input.extend(core::iter::repeat_n(b'x', 60 * 1024));
    input.push(0);
    let cuts: Vec<usize> = (0..input.len()).step_by(7).collect();
    let (items, rest) = decode_chunked(&mut Decoder::default(), &input, &cuts);
    assert_eq!(items.len(), 1);
    assert_eq!(rest, Ok(0));
}

// --- Encoder ---

fn enc<N: AsRef<[u8]>, V: AsRef<[u8]>>(
    c: Command,
    h: &[(N, V)],
    body: &[u8],
    v: Version,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = [0u8; 4096];
    let n = encode(c, h, body, v, &mut out)?;
    Ok(out[..n].to_vec())
}

#[test]
fn encodes_spec_examples() {
    assert_eq!(
        enc(
            Command::Connect,
            &[("accept-version", "1.2"), ("host", "stomp.github.org")],
            b"",
            Version::V1_2
        )
        .unwrap(),
        b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0"
    );
    assert_eq!(
        enc(
            Command::Message,
            &[
                ("subscription", "0"),
                ("message-id", "007"),
                ("destination", "/queue/a"),
                ("content-type", "text/plain"),
            ],
            b"hello queue a",
            Version::V1_2
        )
        .unwrap(),
        &b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:13\n\nhello queue a\0"[..]
    );
}

#[test]
fn encoder_escapes_per_version() {
    let h = [("a:b", "x\ny\\z\r!")];
    assert_eq!(
        enc(Command::Send, &h, b"", Version::V1_2).unwrap(),
        b"SEND\na\\cb:x\\ny\\\\z\\r!\n\n\0"
    );
    assert_eq!(
        enc(Command::Send, &h, b"", Version::V1_1).unwrap(),
        b"SEND\na\\cb:x\\ny\\\\z\r!\n\n\0"
    );
    assert_eq!(
        enc(Command::Send, &h, b"", Version::V1_0),
        Err(EncodeError::InvalidHeader { index: 0 })
    );
    // Never escaped in handshake frames: what cannot be written literally is refused.
    assert_eq!(
        enc(Command::Connect, &[("login", "a\\b:c")], b"", Version::V1_2).unwrap(),
        b"CONNECT\nlogin:a\\b:c\n\n\0"
    );
    assert_eq!(
        enc(
            Command::Connected,
            &[("ok", "1"), ("x", "a\nb")],
            b"",
            Version::V1_2
        ),
        Err(EncodeError::InvalidHeader { index: 1 })
    );
}

#[test]
fn encoder_content_length() {
    // Caller's content-length kept when right, refused when wrong.
    assert_eq!(
        enc(
            Command::Send,
            &[("content-length", "2")],
            b"ab",
            Version::V1_2
        )
        .unwrap(),
        b"SEND\ncontent-length:2\n\nab\0"
    );
    assert_eq!(
        enc(
            Command::Send,
            &[("content-length", "3")],
            b"ab",
            Version::V1_2
        ),
        Err(EncodeError::ContentLengthMismatch)
    );
    assert_eq!(
        enc(Command::Send, &[("content-length", "")], b"", Version::V1_2),
        Err(EncodeError::ContentLengthMismatch)
    );
    assert_eq!(
        enc(
            Command::Send,
            &[("content-length", "0")],
            b"",
            Version::V1_2
        )
        .unwrap(),
        b"SEND\ncontent-length:0\n\n\0"
    );
    // None added for an empty body.
    assert_eq!(
        enc::<&str, &str>(Command::Send, &[], b"", Version::V1_2).unwrap(),
        b"SEND\n\n\0"
    );
    // Bodies with NULs survive.
    let bytes = enc::<&str, &str>(Command::Send, &[], b"\0x\0", Version::V1_0).unwrap();
    assert_eq!(one(&bytes).body, b"\0x\0");
}

#[test]
fn encoder_reports_needed_size() {
    let mut out = [0u8; 4];
    assert_eq!(
        encode::<&str, &str>(Command::Send, &[], b"ab", Version::V1_2, &mut out),
        Err(EncodeError::BufferTooSmall(crate::buf::BufferTooSmall {
            needed: 26
        }))
    );
    assert_eq!(b"SEND\ncontent-length:2\n\nab\0".len(), 26);
    let mut one_byte = [0u8; 1];
    assert_eq!(encode_heart_beat(&mut one_byte), Ok(1));
    assert_eq!(one_byte, [b'\n']);
    assert!(encode_heart_beat(&mut []).is_err());
}

#[test]
fn encode_frame_converts_escaping() {
    let input = b"MESSAGE\na\\cb:x\\ny\n\n\0";
    let Ok(Decoded::Frame { frame, .. }) = Decoder::default().decode(input) else {
        panic!()
    };
    let mut out = [0u8; 64];
    let n = encode_frame(&frame, Version::V1_2, &mut out).unwrap();
    assert_eq!(&out[..n], input);
    assert_eq!(
        encode_frame(&frame, Version::V1_0, &mut out),
        Err(EncodeError::InvalidHeader { index: 0 })
    );
}

// --- Properties ---

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = Command> {
        proptest::sample::select(Command::ALL.to_vec())
    }

    /// Names and values drawn from octets that need escaping, plus plain ones.
    fn text(min: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(b"ab-/.0 ".to_vec()),
                1 => proptest::sample::select(b"\n\r:\\".to_vec()),
                1 => any::<u8>().prop_filter("no NUL", |b| *b != 0),
            ],
            min..12,
        )
    }

    fn headers() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
        proptest::collection::vec((text(1), text(0)), 0..6).prop_map(|hs| {
            // The encoder owns content-length here; a generated one would mismatch.
            hs.into_iter()
                .filter(|(n, _)| n.as_slice() != b"content-length")
                .collect()
        })
    }

    fn version() -> impl Strategy<Value = Version> {
        proptest::sample::select(Version::ALL.to_vec())
    }

    fn representable(h: &[(Vec<u8>, Vec<u8>)], e: Escaping) -> bool {
        h.iter().all(|(n, v)| {
            let mut sink = [0u8; 0];
            let mut w = crate::buf::Writer::new(&mut sink);
            escape_into(n.iter().copied(), e, HeaderPart::Name, &mut w).is_ok()
                && escape_into(v.iter().copied(), e, HeaderPart::Value, &mut w).is_ok()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encode_then_decode(
            c in command(),
            h in headers(),
            body in proptest::collection::vec(any::<u8>(), 0..40),
            v in version(),
            explicit_length in any::<bool>(),
            cuts in proptest::collection::vec(0usize..200, 0..4),
        ) {
            let e = Escaping::for_frame(v, c);
            let mut h = h;
            // Without content-length a body must not contain NUL; with it, anything goes.
            let mut body = body;
            let with_length = explicit_length || !body.is_empty();
            if !with_length {
                body.retain(|b| *b != 0);
            }
            if explicit_length {
                h.push((b"content-length".to_vec(), std::format!("{}", body.len()).into_bytes()));
            }
            let encoded = enc(c, &h, &body, v);
            if !representable(&h, e) {
                let refused = matches!(encoded, Err(EncodeError::InvalidHeader { .. }));
                prop_assert!(refused);
                return Ok(());
            }
            let bytes = encoded.unwrap();
            let mut dec = Decoder::new(Limits { max_headers: 64, max_header_line: 4096, max_body: 4096 });
            dec.set_version(v);
            let got = one_with(&mut dec, &bytes);
            let mut expected_headers = h.clone();
            if !explicit_length && !body.is_empty() {
                expected_headers.push((b"content-length".to_vec(), std::format!("{}", body.len()).into_bytes()));
            }
            prop_assert_eq!(&got, &Owned { command: c, headers: expected_headers, body: body.clone() });
            // Split anywhere: the same.
            let mut dec2 = Decoder::new(*dec.limits());
            dec2.set_version(v);
            let (items, rest) = decode_chunked(&mut dec2, &bytes, &cuts);
            prop_assert_eq!(items, std::vec![Item::Frame(got)]);
            prop_assert_eq!(rest, Ok(0));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_agrees(
            input in proptest::collection::vec(
                prop_oneof![
                    3 => proptest::sample::select(b"SEND\nMESAGCOTR:\r\\0123content-length:\0".to_vec()),
                    1 => any::<u8>(),
                ],
                0..120,
            ),
            v in version(),
        ) {
            let lim = Limits { max_headers: 4, max_header_line: 40, max_body: 30 };
            let mut a = Decoder::new(lim);
            a.set_version(v);
            let whole = decode_all(&mut a, &input);
            let mut b = Decoder::new(lim);
            b.set_version(v);
            let cuts: Vec<usize> = (0..input.len()).collect();
            let bytewise = decode_chunked(&mut b, &input, &cuts);
            prop_assert_eq!(&whole.0, &bytewise.0);
            match (whole.1, bytewise.1) {
                (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
                (Err(x), Err(y)) => prop_assert_eq!(x, y),
                (x, y) => prop_assert!(false, "{:?} vs {:?}", x, y),
            }
            // Every decoded frame re-encodes and decodes to itself.
            for item in whole.0 {
                if let Item::Frame(f) = item {
                    if let Ok(bytes) = enc(f.command, &f.headers, &f.body, v) {
                        let mut d = Decoder::new(Limits { max_headers: 64, max_header_line: 4096, max_body: 4096 });
                        d.set_version(v);
                        let again = one_with(&mut d, &bytes);
                        prop_assert_eq!(again.command, f.command);
                        prop_assert_eq!(&again.body, &f.body);
                        prop_assert_eq!(&again.headers[..f.headers.len()], &f.headers[..]);
                    }
                }
            }
        }
    }
}
