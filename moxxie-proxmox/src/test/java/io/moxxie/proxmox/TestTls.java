package io.moxxie.proxmox;

import io.moxxie.proxmox.internal.PinnedTrustManager;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate for {@code localhost}/{@code 127.0.0.1}, made once per test JVM with {@code keytool}
 * (as Proxmox makes its own at install time), with its SHA-256 fingerprint and a PEM copy to use as a CA file.
 */
final class TestTls {
    private static TestTls instance;

    final SSLSocketFactory serverSocketFactory;
    final String fingerprint;
    final Path caPem;

    private TestTls(SSLSocketFactory f, String fingerprint, Path caPem) {
        this.serverSocketFactory = f;
        this.fingerprint = fingerprint;
        this.caPem = caPem;
    }

    static synchronized TestTls get() {
        if (instance == null) instance = create();
        return instance;
    }

    private static TestTls create() {
        try {
            Path dir = Files.createTempDirectory("moxxie-tls");
            dir.toFile().deleteOnExit();
            Path ks = dir.resolve("pve-ssl.p12");
            Path pem = dir.resolve("pve-root-ca.pem");
            String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
            run(keytool, "-genkeypair", "-alias", "pve", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-dname", "CN=localhost, O=Moxxie test", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "3",
                    "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit");
            run(keytool, "-exportcert", "-rfc", "-alias", "pve", "-keystore", ks.toString(), "-storepass", "changeit",
                    "-file", pem.toString());
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(ks)) {
                store.load(in, "changeit".toCharArray());
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, "changeit".toCharArray());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            String fp = PinnedTrustManager.fingerprint((X509Certificate) store.getCertificate("pve"));
            ks.toFile().deleteOnExit();
            pem.toFile().deleteOnExit();
            return new TestTls(ctx.getSocketFactory(), fp, pem);
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the test certificate: " + e.getMessage(), e);
        }
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
}
