package dev.holdfast.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A small HTTP/1.1-aware TCP proxy on 127.0.0.1 that a test puts between a client and an S3 server
 * to inject faults deterministically, by request: "answer the 2nd UploadPart with 503 SlowDown",
 * "reset the connection after 1 MiB of part 3's body", "let CompleteMultipartUpload reach the
 * server but lose its answer", or "the server is down".
 *
 * <p>How it works: each accepted connection gets an upstream connection and two threads. The
 * request side parses each request's head (method, target, headers) and frames its body
 * (Content-Length or chunked), so it knows which request it is forwarding; the response side copies
 * bytes back unparsed (HTTP/1.1 clients send the next request on a connection only after the whole
 * previous response, so an injected response never interleaves with a real one). Rules are matched
 * in order; each counts the requests it matches, skips the first {@code skip} and fires on the next
 * {@code times}. Every request seen is recorded with what was done to it.
 *
 * <p>Bounded: threads end when either side closes; injected answers drain at most a bounded amount
 * with a read timeout; {@link #close()} closes every socket.
 */
public final class FaultProxy implements AutoCloseable {
    private static final int MAX_HEAD = 64 * 1024;
    private static final int DRAIN_TIMEOUT_MS = 2_000;

    private volatile int targetPort;
    private volatile ServerSocket server;
    private final int port;
    private final List<Rule> rules = new ArrayList<>();
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger serverCloses = new AtomicInteger();
    private volatile boolean closed;

    /** One request as the proxy saw it. */
    public record Request(String method, String path, Map<String, String> query, Map<String, String> headers) {
        /** UploadPart: PUT with {@code partNumber} and {@code uploadId}. */
        public boolean isUploadPart() {
            return method.equals("PUT") && query.containsKey("partNumber") && query.containsKey("uploadId");
        }

        /** PutObject: PUT of an object without multipart parameters (nor copy). */
        public boolean isPutObject() {
            return method.equals("PUT") && !query.containsKey("uploadId") && !headers.containsKey("x-amz-copy-source")
                    && path.indexOf('/', 1) > 0;
        }

        /** CreateMultipartUpload: POST {@code ?uploads}. */
        public boolean isCreateMultipart() {
            return method.equals("POST") && query.containsKey("uploads");
        }

        /** CompleteMultipartUpload: POST {@code ?uploadId=}. */
        public boolean isCompleteMultipart() {
            return method.equals("POST") && query.containsKey("uploadId");
        }

        /** AbortMultipartUpload: DELETE {@code ?uploadId=}. */
        public boolean isAbortMultipart() {
            return method.equals("DELETE") && query.containsKey("uploadId");
        }

        /** The part number of an UploadPart, or 0. */
        public int partNumber() {
            try {
                return Integer.parseInt(query.getOrDefault("partNumber", "0"));
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        @Override
        public String toString() {
            StringBuilder q = new StringBuilder();
            query.forEach((k, v) -> q.append(q.length() == 0 ? "?" : "&").append(k).append(v.isEmpty() ? "" : "=" + v));
            return method + " " + path + q;
        }
    }

    /** A request and what the proxy did with it ({@code "pass"} or the fault's description). */
    public record Seen(Request request, String outcome) {
    }

    /** What to do to a matched request. */
    public sealed interface Fault permits Respond, ResetAfter, DropResponse {
    }

    /** Answer with this status and an S3 error body, without forwarding; then close the connection. */
    public record Respond(int status, String code, String message) implements Fault {
    }

    /** Forward the head and {@code bodyBytes} of the body, then reset both connections (TCP RST). */
    public record ResetAfter(long bodyBytes) implements Fault {
    }

    /** Forward the whole request; when the server's final answer starts to arrive, reset instead of relaying it. */
    public record DropResponse() implements Fault {
    }

    public static Fault slowDown() {
        return new Respond(503, "SlowDown", "Please reduce your request rate.");
    }

    public static Fault internalError() {
        return new Respond(500, "InternalError", "We encountered an internal error. Please try again.");
    }

    public static Fault resetAfter(long bodyBytes) {
        return new ResetAfter(bodyBytes);
    }

    public static Fault dropResponse() {
        return new DropResponse();
    }

    private static final class Rule {
        final Predicate<Request> match;
        final int skip;
        final int times;
        final Fault fault;
        int matched;

        Rule(Predicate<Request> match, int skip, int times, Fault fault) {
            this.match = match;
            this.skip = skip;
            this.times = times;
            this.fault = fault;
        }
    }

    private FaultProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = bind(0);
        this.port = server.getLocalPort();
        startAccepting(server);
    }

    /** Starts a proxy on a free loopback port forwarding to {@code 127.0.0.1:targetPort}. */
    public static FaultProxy start(int targetPort) throws IOException {
        return new FaultProxy(targetPort);
    }

    public int port() {
        return port;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** Forwards new connections to another port (a restarted server). */
    public void retarget(int targetPort) {
        this.targetPort = targetPort;
    }

    /**
     * Applies {@code fault} to matching requests number {@code skip + 1} to {@code skip + times}
     * (counted per rule, retries included).
     */
    public synchronized void inject(Predicate<Request> match, int skip, int times, Fault fault) {
        rules.add(new Rule(match, skip, times, fault));
    }

    /** Applies {@code fault} to the {@code nth} (1-based) matching request only. */
    public void failNth(Predicate<Request> match, int nth, Fault fault) {
        inject(match, nth - 1, 1, fault);
    }

    /** Removes every rule and forgets the requests seen. */
    public synchronized void reset() {
        rules.clear();
        seen.clear();
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Connections the server closed by itself (end of stream from upstream), as opposed to the client or a fault. */
    public int serverCloses() {
        return serverCloses.get();
    }

    /** Every request seen so far, in arrival order. */
    public List<Seen> seen() {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    /** The requests seen that match. */
    public List<Seen> seen(Predicate<Request> match) {
        return seen().stream().filter(s -> match.test(s.request())).toList();
    }

    /**
     * "The server is down": stops listening and resets every open connection, so clients see
     * connection refused (new) or reset (in flight) until {@link #up()}.
     */
    public synchronized void down() throws IOException {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            s.close();
        }
        for (Socket c : sockets) {
            reset(c);
        }
    }

    /** Listens again, on the same port. */
    public synchronized void up() throws IOException {
        if (server == null && !closed) {
            server = bind(port);
            startAccepting(server);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        down();
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        return s;
    }

    private void startAccepting(ServerSocket s) {
        Thread t = new Thread(() -> {
            // Bounded: ends when the server socket is closed (down() or close()).
            while (!s.isClosed()) {
                try {
                    Socket client = s.accept();
                    handle(client);
                } catch (IOException e) {
                    // closed, or one failed accept: the loop condition decides
                }
            }
        }, "fault-proxy-accept-" + port);
        t.setDaemon(true);
        t.start();
    }

    private void handle(Socket client) {
        Socket upstream = new Socket();
        try {
            client.setTcpNoDelay(true);
            upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5_000);
            upstream.setTcpNoDelay(true);
        } catch (IOException e) {
            // The server behind is down: the client sees its connection reset.
            reset(client);
            closeQuietly(upstream);
            return;
        }
        sockets.add(client);
        sockets.add(upstream);
        Connection c = new Connection(client, upstream, connections.incrementAndGet());
        Thread requests = new Thread(c::pumpRequests, "fault-proxy-req-" + c.id);
        Thread responses = new Thread(c::pumpResponses, "fault-proxy-resp-" + c.id);
        requests.setDaemon(true);
        responses.setDaemon(true);
        requests.start();
        responses.start();
    }

    /** Every matching rule counts the request; the first (in order of injection) that fires applies. */
    private synchronized Fault decide(Request r) {
        Fault chosen = null;
        for (Rule rule : rules) {
            if (rule.match.test(r)) {
                int n = rule.matched++;
                if (chosen == null && n >= rule.skip && n < rule.skip + rule.times) {
                    chosen = rule.fault;
                }
            }
        }
        return chosen;
    }

    private final class Connection {
        final Socket client;
        final Socket upstream;
        final int id;
        final Object clientWrite = new Object();
        /** Set while a DropResponse request is in flight: the next final response is not relayed. */
        volatile boolean dropResponse;
        /** Pumps finished; the second one to finish closes both sockets. */
        final AtomicInteger finished = new AtomicInteger();

        Connection(Socket client, Socket upstream, int id) {
            this.client = client;
            this.upstream = upstream;
            this.id = id;
        }

        void pumpRequests() {
            try {
                BufferedInputStream in = new BufferedInputStream(client.getInputStream(), 64 * 1024);
                OutputStream out = upstream.getOutputStream();
                // Bounded: each iteration consumes one request; EOF or a socket error ends the loop.
                while (true) {
                    byte[] head = readHead(in);
                    if (head == null) {
                        break;
                    }
                    Request req = parse(head);
                    Fault fault = decide(req);
                    seen.add(new Seen(req, fault == null ? "pass" : fault.toString()));
                    if (fault == null) {
                        out.write(head);
                        copyBody(in, out, req, Long.MAX_VALUE);
                        out.flush();
                    } else if (fault instanceof Respond r) {
                        respond(in, req, r);
                        done(true);
                        return;
                    } else if (fault instanceof ResetAfter r) {
                        out.write(head);
                        copyBody(in, out, req, r.bodyBytes());
                        out.flush();
                        reset(client);
                        reset(upstream);
                        done(true);
                        return;
                    } else if (fault instanceof DropResponse) {
                        dropResponse = true;
                        out.write(head);
                        copyBody(in, out, req, Long.MAX_VALUE);
                        out.flush();
                    }
                }
                upstream.shutdownOutput();
                done(false);
            } catch (IOException | RuntimeException e) {
                done(true);
            }
        }

        void pumpResponses() {
            byte[] buf = new byte[64 * 1024];
            try {
                InputStream in = upstream.getInputStream();
                OutputStream out = client.getOutputStream();
                ByteArrayOutputStream pendingHead = new ByteArrayOutputStream();
                // Bounded: ends at EOF or on a socket error.
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (dropResponse) {
                        // Let interim 100 Continue through (the client then sends the body); reset on the final answer.
                        pendingHead.write(buf, 0, n);
                        String h = pendingHead.toString(StandardCharsets.ISO_8859_1);
                        if (!h.contains("\r\n\r\n")) {
                            continue;
                        }
                        if (h.startsWith("HTTP/1.1 100") || h.startsWith("HTTP/1.0 100")) {
                            int end = h.indexOf("\r\n\r\n") + 4;
                            synchronized (clientWrite) {
                                out.write(pendingHead.toByteArray(), 0, end);
                                out.flush();
                            }
                            byte[] rest = pendingHead.toByteArray();
                            pendingHead.reset();
                            pendingHead.write(rest, end, rest.length - end);
                            if (pendingHead.size() == 0) {
                                continue;
                            }
                            if (!pendingHead.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/")) {
                                continue;
                            }
                        }
                        reset(client);
                        reset(upstream);
                        done(true);
                        return;
                    }
                    synchronized (clientWrite) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
                // The server ended the connection (not a fault of ours): pass the close on.
                serverCloses.incrementAndGet();
                client.shutdownOutput();
                done(false);
            } catch (IOException | RuntimeException e) {
                done(true);
            }
        }

        /** A pump ended: on an error, or when both have ended, close both sockets (which also ends the other pump). */
        private void done(boolean error) {
            if (finished.incrementAndGet() == 2 || error) {
                closeBoth();
            }
        }

        /** Answers without forwarding, as an S3 server that refuses the request would, and closes. */
        private void respond(BufferedInputStream in, Request req, Respond r) throws IOException {
            boolean expectContinue = "100-continue".equalsIgnoreCase(req.headers().getOrDefault("expect", ""));
            if (!expectContinue) {
                // The client is sending the body: read it so that closing does not turn into a reset.
                copyBody(in, OutputStream.nullOutputStream(), req, Long.MAX_VALUE);
            }
            String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + r.code() + "</Code><Message>" + r.message()
                    + "</Message><RequestId>faultproxy</RequestId></Error>";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            String head = "HTTP/1.1 " + r.status() + " " + reason(r.status()) + "\r\n"
                    + "Content-Type: application/xml\r\n"
                    + "Content-Length: " + bytes.length + "\r\n"
                    + "x-amz-request-id: faultproxy\r\n"
                    + "Connection: close\r\n\r\n";
            synchronized (clientWrite) {
                OutputStream out = client.getOutputStream();
                out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                out.write(bytes);
                out.flush();
            }
            client.shutdownOutput();
            if (expectContinue) {
                // The client may still send the body it was holding back; swallow it, bounded in time.
                client.setSoTimeout(DRAIN_TIMEOUT_MS);
                try {
                    in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException timeoutOrReset) {
                    // enough
                }
            }
            closeBoth();
        }

        private void closeBoth() {
            closeQuietly(client);
            closeQuietly(upstream);
            sockets.remove(client);
            sockets.remove(upstream);
        }
    }

    /** Reads a request head up to and including the blank line; null at a clean end of stream. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new IOException("connection closed inside a request head");
            }
            b.write(c);
            if (b.size() > MAX_HEAD) {
                throw new IOException("request head larger than " + MAX_HEAD);
            }
            state = switch (state) {
                case 0 -> c == '\r' ? 1 : 0;
                case 1 -> c == '\n' ? 2 : (c == '\r' ? 1 : 0);
                case 2 -> c == '\r' ? 3 : 0;
                case 3 -> c == '\n' ? 4 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
            if (state == 4) {
                return b.toByteArray();
            }
        }
    }

    private static Request parse(byte[] head) throws IOException {
        String[] lines = new String(head, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] start = lines[0].split(" ");
        if (start.length < 3) {
            throw new IOException("bad request line: " + lines[0]);
        }
        String target = start[1];
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        Map<String, String> query = new LinkedHashMap<>();
        if (q >= 0) {
            for (String p : target.substring(q + 1).split("&")) {
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                String k = URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
                query.put(k, v);
            }
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        return new Request(start[0], URLDecoder.decode(path, StandardCharsets.UTF_8), Map.copyOf(query), Map.copyOf(headers));
    }

    /**
     * Copies one request body (Content-Length or chunked framing), at most {@code limit} bytes of it;
     * returns normally when the limit is reached.
     */
    private static void copyBody(InputStream in, OutputStream out, Request req, long limit) throws IOException {
        String te = req.headers().getOrDefault("transfer-encoding", "");
        if (te.toLowerCase(Locale.ROOT).contains("chunked")) {
            long copied = 0;
            // Bounded: each chunk is consumed; the zero-size chunk ends it.
            while (true) {
                String sizeLine = readLine(in);
                copied += write(out, (sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1), limit - copied);
                if (copied >= limit) {
                    return;
                }
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
                if (size == 0) {
                    // trailers, then the blank line
                    while (true) {
                        String trailer = readLine(in);
                        write(out, (trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1), Long.MAX_VALUE);
                        if (trailer.isEmpty()) {
                            return;
                        }
                    }
                }
                long n = copy(in, out, Math.min(size, limit - copied));
                copied += n;
                if (copied >= limit) {
                    return;
                }
                String crlf = readLine(in);
                write(out, (crlf + "\r\n").getBytes(StandardCharsets.ISO_8859_1), Long.MAX_VALUE);
            }
        }
        long length = Long.parseLong(req.headers().getOrDefault("content-length", "0").trim());
        copy(in, out, Math.min(length, limit));
    }

    private static long write(OutputStream out, byte[] b, long limit) throws IOException {
        int n = (int) Math.min(b.length, Math.max(0, limit));
        out.write(b, 0, n);
        return n;
    }

    private static long copy(InputStream in, OutputStream out, long n) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long left = n;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                throw new IOException("connection closed inside a request body");
            }
            out.write(buf, 0, r);
            left -= r;
        }
        return n;
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed inside a chunked body");
            }
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
            if (b.size() > MAX_HEAD) {
                throw new IOException("line longer than " + MAX_HEAD);
            }
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            default -> "Error";
        };
    }

    /** Closes with SO_LINGER 0: the peer sees a TCP RST, as after a crash or a middlebox reset. */
    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (SocketException e) {
            // already closed
        }
        closeQuietly(s);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
