package dev.holdfast.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Json;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** {@code GET /v1/status} on the agent's control socket (docs/protocol.md), over a Unix domain socket. */
final class AgentSocket {
    private final Path socket;

    AgentSocket(Path socket) {
        this.socket = socket;
    }

    /** The status of one source ({@code sources[].status}), or null when the agent or the source is not there (yet). */
    JsonNode sourceStatus(String source) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap("GET /v1/status HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            String response = new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
            int body = response.indexOf("\r\n\r\n");
            if (!response.startsWith("HTTP/1.") || !response.substring(9, 12).equals("200") || body < 0) {
                return null;
            }
            for (JsonNode s : Json.MAPPER.readTree(response.substring(body + 4)).path("sources")) {
                if (source.equals(s.path("name").asText())) {
                    return s.path("status");
                }
            }
            return null;
        }
    }
}
