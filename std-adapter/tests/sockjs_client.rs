//! The SockJS client against the server's SockJS echo endpoint, transport by transport.

use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig};
use sockwire_std::sockjs_client::{SockJsClient, SockJsTransport};

#[test]
fn every_transport_echoes_and_the_fallback_order_starts_with_websocket() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/sockjs", server.local_addr());
    for transport in SockJsTransport::ALL {
        let mut c = SockJsClient::connect_with(&url, &[transport]).unwrap();
        assert_eq!(c.transport(), transport);
        for text in ["hello", "ünï ☃ 😀 \u{2028} \" \\ \n", &"z".repeat(100_000)] {
            c.send_text(text).unwrap();
            assert_eq!(
                c.read().unwrap(),
                Message::Text(text.to_string()),
                "{transport:?}"
            );
        }
        c.close().unwrap();
    }
    assert_eq!(
        SockJsClient::connect(&url).unwrap().transport(),
        SockJsTransport::WebSocket
    );
    server.stop();
    server.join();
}

#[test]
fn falls_back_to_xhr_streaming_when_websocket_is_not_offered() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        sockjs: sockwire_std::server::SockJsSettings {
            websocket_enabled: false,
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/sockjs", server.local_addr());
    let mut c = SockJsClient::connect(&url).unwrap();
    assert_eq!(c.transport(), SockJsTransport::XhrStreaming);
    c.send_text("over http").unwrap();
    assert_eq!(c.read().unwrap(), Message::Text("over http".into()));
    // Forcing the websocket transport fails: the server does not route it.
    assert!(SockJsClient::connect_with(&url, &[SockJsTransport::WebSocket]).is_err());
    server.stop();
    server.join();
}
