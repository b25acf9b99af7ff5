package io.moxxie.proxmox.internal;

import javax.net.ssl.X509TrustManager;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;

/**
 * Accepts a server whose leaf certificate has one of the pinned SHA-256 fingerprints, and nothing else.
 * A refusal names both the fingerprint presented and the pinned ones, so the operator can compare them with
 * what the Proxmox GUI shows. Not part of the public API.
 */
public final class PinnedTrustManager implements X509TrustManager {
    private static final X509Certificate[] NONE = new X509Certificate[0];
    private final Set<String> pinned;

    public PinnedTrustManager(Set<String> pinned) {
        this.pinned = Set.copyOf(pinned);
    }

    /** Trusts every certificate: the explicit insecure option. */
    public static X509TrustManager trustAll() {
        return new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return NONE;
            }
        };
    }

    /** The {@code AA:BB:…} SHA-256 fingerprint of a certificate, as Proxmox shows it. */
    public static String fingerprint(X509Certificate cert) throws CertificateEncodingException {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < d.length; i++) {
                if (i > 0) sb.append(':');
                sb.append(String.format("%02X", d[i] & 0xff));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 not available", e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("client certificates are not checked by this trust manager");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) throw new CertificateException("the server presented no certificate");
        String actual = fingerprint(chain[0]);
        if (!pinned.contains(actual)) {
            throw new CertificateException("certificate fingerprint mismatch: the server presented SHA-256 " + actual
                    + " but the pinned fingerprint" + (pinned.size() == 1 ? " is " : "s are ") + String.join(", ", pinned));
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NONE;
    }
}
