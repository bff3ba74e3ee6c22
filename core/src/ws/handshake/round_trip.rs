//! Property tests: a client's request is accepted by the server and the server's answer
//! validates on the client.
