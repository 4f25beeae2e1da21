package dev.holdfast.controller.restore;

import com.google.protobuf.ByteString;
import dev.holdfast.controller.pki.ControllerCa;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import java.security.cert.CertificateEncodingException;

/**
 * Signs grant payloads. Decision (docs/protocol.md "Restore grants"): grants are signed by the
 * controller CA's own key, the key every agent already trusts through its pinned {@code ca.crt} (or
 * as the issuer of its client certificate), so there is no second key to distribute, rotate or
 * revoke; a domain-separation prefix keeps a grant signature from being anything else. The CA
 * certificate travels with the grant so that an agent whose pinned anchor is an operator's TLS CA
 * can still check it against the issuer of its own certificate. Signing costs well under a
 * millisecond; callers still run it on a worker.
 */
public interface GrantSigner {
    RestoreGrant sign(RestoreGrantPayload payload);

    static GrantSigner of(ControllerCa ca) {
        return payload -> {
            byte[] bytes = payload.toByteArray();
            try {
                return RestoreGrant.newBuilder().setPayload(ByteString.copyFrom(bytes)).setSignature(ByteString.copyFrom(ca.signRestoreGrant(bytes)))
                        .setSignerCertificateDer(ByteString.copyFrom(ca.certificate().getEncoded())).build();
            } catch (CertificateEncodingException e) {
                throw new HoldfastException(ErrorCode.INTERNAL, "cannot encode the CA certificate", e);
            }
        };
    }
}
