package dev.holdfast.agent.grant;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.holdfast.agent.postgres.restore.RestoreTarget;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Grants;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Decides whether a restore grant may be used here. Checks, in this order, each failure a
 * {@link HoldfastException} with a stable code and nothing written:
 * <ol>
 *   <li>the signer: the grant's attached certificate must be this agent's pinned {@code ca.crt}, or
 *       the certificate whose key issued this agent's own client certificate (the controller CA, when
 *       the listener uses an operator certificate); else {@code grant_invalid};</li>
 *   <li>the signature, ECDSA P-256 SHA-256 over {@link Grants#signedBytes}, before the payload is
 *       parsed at all; else {@code grant_invalid};</li>
 *   <li>the payload: well-formed, every field present, a lifetime of at most {@link #MAX_LIFETIME};
 *       the host must be this agent's; else {@code grant_invalid};</li>
 *   <li>time, on the injected clock with {@link #CLOCK_SKEW} either way: not yet expired and not
 *       issued in the future; else {@code grant_expired};</li>
 *   <li>single use: its grant id not in the {@link GrantJournal}; else {@code grant_used};</li>
 *   <li>the target path, as text: absolute, no {@code .} or {@code ..} segment, no empty segment or
 *       trailing slash, no {@code %}, backslash or control character (no encoded or platform
 *       tricks); then {@link RestoreTarget#check} against this agent's own
 *       {@code restore.allowed_targets} on canonical paths (symbolic links) and emptiness; else
 *       {@code target_not_allowed} or {@code target_not_empty};</li>
 *   <li>and then the grant id is consumed, durably, before the caller writes anything.</li>
 * </ol>
 * The controller's policy may pre-check the target too, but this agent's allowlist is the authority.
 */
public final class GrantVerifier {
    /** How far the controller's and this agent's clocks may disagree (shared with the controller). */
    public static final Duration CLOCK_SKEW = Grants.CLOCK_SKEW;
    /** The longest validity a grant may claim (they are meant to live minutes). */
    public static final Duration MAX_LIFETIME = Duration.ofHours(24);
    private static final Pattern HEX_ID = Pattern.compile("[0-9a-f]{16,64}");

    private final Supplier<X509Certificate> pinnedCa;
    private final Supplier<X509Certificate> ownCertificate;
    private final String host;
    private final List<Path> allowedTargets;
    private final GrantJournal journal;
    private final Clock clock;

    /**
     * @param pinnedCa       the identity's {@code ca.crt} (read at each call: a renewal may change the identity)
     * @param ownCertificate the identity's client certificate
     */
    public GrantVerifier(Supplier<X509Certificate> pinnedCa, Supplier<X509Certificate> ownCertificate, String host,
                         List<Path> allowedTargets, GrantJournal journal, Clock clock) {
        this.pinnedCa = Objects.requireNonNull(pinnedCa, "pinnedCa");
        this.ownCertificate = Objects.requireNonNull(ownCertificate, "ownCertificate");
        this.host = Objects.requireNonNull(host, "host");
        this.allowedTargets = List.copyOf(allowedTargets);
        this.journal = Objects.requireNonNull(journal, "journal");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A grant that passed every check; its id is consumed. */
    public record Verified(RestoreGrantPayload payload, RestoreTarget target) {
    }

    /**
     * The request id a grant names, read WITHOUT verifying it: only for deduplication and for
     * addressing the answer; empty when the payload does not parse.
     */
    public static String unverifiedRequestId(RestoreGrant g) {
        try {
            return RestoreGrantPayload.parseFrom(g.getPayload()).getRequestId();
        } catch (InvalidProtocolBufferException e) {
            return "";
        }
    }

    /** Runs every check (see the class) and consumes the grant. Blocking. */
    public Verified verify(RestoreGrant g) {
        PublicKey key = signerKey(g);
        try {
            Signature s = Signature.getInstance(Grants.SIGNATURE_ALGORITHM);
            s.initVerify(key);
            s.update(Grants.signedBytes(g.getPayload().toByteArray()));
            if (!s.verify(g.getSignature().toByteArray())) {
                throw invalid("its signature does not verify with the controller CA's key");
            }
        } catch (GeneralSecurityException e) {
            throw invalid("its signature does not verify with the controller CA's key");
        }
        RestoreGrantPayload p;
        try {
            p = RestoreGrantPayload.parseFrom(g.getPayload());
        } catch (InvalidProtocolBufferException e) {
            throw invalid("its payload is malformed");
        }
        if (p.getRequestId().isEmpty() || !HEX_ID.matcher(p.getGrantId()).matches() || p.getSource().isEmpty()
                || p.getBackupId().isEmpty() || p.getTargetPath().isEmpty() || p.getIssuedAtMs() <= 0
                || p.getExpiresAtMs() <= p.getIssuedAtMs()) {
            throw invalid("a field is missing or malformed");
        }
        if (p.getExpiresAtMs() - p.getIssuedAtMs() > MAX_LIFETIME.toMillis()) {
            throw invalid("it claims a lifetime longer than " + MAX_LIFETIME.toHours() + " h");
        }
        if (!p.getHost().equals(host)) {
            throw invalid("it is for host '" + clip(p.getHost()) + "', and this agent is '" + host + "'");
        }
        Instant now = clock.instant();
        Instant expires = Instant.ofEpochMilli(p.getExpiresAtMs());
        Instant issued = Instant.ofEpochMilli(p.getIssuedAtMs());
        if (!now.isBefore(expires.plus(CLOCK_SKEW))) {
            throw new HoldfastException(ErrorCode.GRANT_EXPIRED, "restore grant of request " + clip(p.getRequestId()) + " refused: it expired at "
                    + expires + " (now " + now + ", skew allowed " + CLOCK_SKEW.toSeconds() + " s); nothing was written");
        }
        if (issued.isAfter(now.plus(CLOCK_SKEW))) {
            throw new HoldfastException(ErrorCode.GRANT_EXPIRED, "restore grant of request " + clip(p.getRequestId())
                    + " refused: it was issued at " + issued + ", ahead of this agent's clock (" + now + ") by more than "
                    + CLOCK_SKEW.toSeconds() + " s; check NTP; nothing was written");
        }
        if (journal.isUsed(p.getGrantId())) {
            throw used(p);
        }
        Path requested = targetPath(p.getTargetPath());
        RestoreTarget target = RestoreTarget.check(requested, allowedTargets, false);
        if (!journal.consume(p.getGrantId(), expires)) {
            throw used(p);
        }
        return new Verified(p, target);
    }

    /**
     * The target as a path, refusing every textual trick before the filesystem is asked: the
     * controller sends a normalized absolute path, so anything else is an attack or a bug.
     */
    static Path targetPath(String t) {
        Optional<String> why = Grants.targetPathProblem(t);
        if (why.isPresent()) {
            throw new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "restore target " + clip(t) + " refused: " + why.get()
                    + "; nothing was written");
        }
        return Path.of(t);
    }

    private PublicKey signerKey(RestoreGrant g) {
        X509Certificate pinned = pinnedCa.get();
        if (g.getSignerCertificateDer().isEmpty()) {
            return pinned.getPublicKey();
        }
        X509Certificate signer;
        try {
            signer = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(g.getSignerCertificateDer().toByteArray()));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw invalid("its signer certificate is malformed");
        }
        try {
            if (MessageDigest.isEqual(signer.getEncoded(), pinned.getEncoded())) {
                return pinned.getPublicKey();
            }
            // Not the pinned anchor: trusted only as the key that issued this agent's own certificate,
            // which the agent received over the pinned channel at enrolment or renewal.
            if (signer.getBasicConstraints() < 0) {
                throw invalid("it is signed by a certificate that is not a CA");
            }
            ownCertificate.get().verify(signer.getPublicKey());
            return signer.getPublicKey();
        } catch (GeneralSecurityException e) {
            throw invalid("it is signed by a CA this agent does not trust (not its controller's)");
        }
    }

    private static HoldfastException invalid(String why) {
        return new HoldfastException(ErrorCode.GRANT_INVALID, "restore grant refused: " + why + "; nothing was written");
    }

    private static HoldfastException used(RestoreGrantPayload p) {
        return new HoldfastException(ErrorCode.GRANT_USED, "restore grant " + p.getGrantId() + " of request " + clip(p.getRequestId())
                + " refused: it was used already (a grant is single-use); nothing was written");
    }

    private static String clip(String s) {
        String t = s.replaceAll("[^\\x20-\\x7e]", "?");
        return t.length() <= 80 ? t : t.substring(0, 80) + "...";
    }
}
