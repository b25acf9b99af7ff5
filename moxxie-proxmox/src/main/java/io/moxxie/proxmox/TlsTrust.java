package io.moxxie.proxmox;

import io.moxxie.core.Checks;
import io.moxxie.proxmox.internal.PinnedTrustManager;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which server certificates the client accepts. Proxmox ships self-signed certificates, so there are three
 * real choices and no silent fallback between them:
 * <ul>
 *   <li>{@link #systemDefault()}: the JVM's trust store (a cluster with certificates from a public or company CA);</li>
 *   <li>{@link #caFile(Path)}: a PEM file of CA certificates, typically the cluster's own
 *       {@code /etc/pve/pve-root-ca.pem}, with host name verification;</li>
 *   <li>{@link #pinnedFingerprints(String...)}: one or more SHA-256 certificate fingerprints in the
 *       {@code AA:BB:…} form the Proxmox GUI shows (one per node you connect to); only those certificates are
 *       accepted, whatever name they carry.</li>
 * </ul>
 * {@link #insecure()} skips verification; it exists for labs and logs a WARN each time a client is built with it.
 *
 * <p>Immutable and thread-safe.
 */
public final class TlsTrust {
    enum Kind { SYSTEM, CA_FILE, PINNED, INSECURE }

    private final Kind kind;
    private final Path caFile;
    private final List<X509Certificate> caCertificates;
    private final Set<String> fingerprints;

    private TlsTrust(Kind kind, Path caFile, List<X509Certificate> caCertificates, Set<String> fingerprints) {
        this.kind = kind;
        this.caFile = caFile;
        this.caCertificates = caCertificates;
        this.fingerprints = fingerprints;
    }

    /** The JVM's default trust store. The default. */
    public static TlsTrust systemDefault() {
        return new TlsTrust(Kind.SYSTEM, null, List.of(), Set.of());
    }

    /**
     * Trusts the CA certificates in a PEM file (read now).
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no certificate
     */
    public static TlsTrust caFile(Path pemFile) {
        Checks.notNull("pemFile", pemFile);
        List<X509Certificate> certs = new ArrayList<>();
        try (InputStream in = Files.newInputStream(pemFile)) {
            Collection<? extends Certificate> read = CertificateFactory.getInstance("X.509").generateCertificates(in);
            for (Certificate c : read) {
                if (c instanceof X509Certificate x) certs.add(x);
            }
        } catch (IOException | CertificateException e) {
            throw new IllegalArgumentException("caFile '" + pemFile + "' cannot be read as PEM certificates: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) throw new IllegalArgumentException("caFile '" + pemFile + "' holds no certificate");
        return new TlsTrust(Kind.CA_FILE, pemFile, List.copyOf(certs), Set.of());
    }

    /**
     * Accepts exactly the certificates with these SHA-256 fingerprints ({@code AA:BB:…}, 32 bytes; colons and case
     * optional), e.g. the "Fingerprint" of each node's certificate in the Proxmox GUI.
     */
    public static TlsTrust pinnedFingerprints(String... sha256Fingerprints) {
        Checks.notNull("sha256Fingerprints", sha256Fingerprints);
        if (sha256Fingerprints.length == 0) throw new IllegalArgumentException("sha256Fingerprints cannot be empty");
        Set<String> out = new LinkedHashSet<>();
        for (String f : sha256Fingerprints) out.add(normalizeFingerprint(f));
        return new TlsTrust(Kind.PINNED, null, List.of(), Set.copyOf(out));
    }

    /** No verification at all. Logged as a WARN whenever a client is built with it. */
    public static TlsTrust insecure() {
        return new TlsTrust(Kind.INSECURE, null, List.of(), Set.of());
    }

    /** {@code AA:BB:…} upper case; rejects anything that is not 32 hex bytes. */
    static String normalizeFingerprint(String fingerprint) {
        Checks.notNull("fingerprint", fingerprint);
        String hex = fingerprint.trim().replace(":", "").replace(" ", "").toUpperCase(Locale.ROOT);
        if (!hex.matches("[0-9A-F]{64}")) {
            throw new IllegalArgumentException("fingerprint must be a SHA-256 fingerprint (32 hex bytes, AA:BB:…), was '" + fingerprint + "'");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i += 2) {
            if (i > 0) sb.append(':');
            sb.append(hex, i, i + 2);
        }
        return sb.toString();
    }

    Kind kind() {
        return kind;
    }

    boolean verifiesHostname() {
        return kind == Kind.SYSTEM || kind == Kind.CA_FILE;
    }

    /** The trust manager for this choice. */
    X509TrustManager trustManager() {
        try {
            switch (kind) {
                case SYSTEM -> {
                    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                    tmf.init((KeyStore) null);
                    return x509(tmf.getTrustManagers());
                }
                case CA_FILE -> {
                    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                    ks.load(null, null);
                    for (int i = 0; i < caCertificates.size(); i++) ks.setCertificateEntry("ca-" + i, caCertificates.get(i));
                    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                    tmf.init(ks);
                    return x509(tmf.getTrustManagers());
                }
                case PINNED -> {
                    return new PinnedTrustManager(fingerprints);
                }
                default -> {
                    return PinnedTrustManager.trustAll();
                }
            }
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up TLS trust (" + this + "): " + e.getMessage(), e);
        }
    }

    SSLContext sslContext(X509TrustManager tm) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[]{tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static X509TrustManager x509(TrustManager[] tms) {
        for (TrustManager tm : tms) {
            if (tm instanceof X509TrustManager x) return x;
        }
        throw new IllegalStateException("no X509TrustManager available");
    }

    @Override
    public String toString() {
        return switch (kind) {
            case SYSTEM -> "JVM trust store";
            case CA_FILE -> "CA file " + caFile + " (" + caCertificates.size() + " certificate" + (caCertificates.size() == 1 ? "" : "s") + ")";
            case PINNED -> "pinned SHA-256 " + String.join(", ", fingerprints);
            case INSECURE -> "INSECURE (no certificate verification)";
        };
    }
}
