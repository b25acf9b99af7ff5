package io.moxxie.proxmox;

import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fake server presents a self-signed certificate made with keytool, as a fresh Proxmox node does. */
class TlsTest {
    private static final String WRONG = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

    private FakeProxmoxApi api;

    @BeforeEach
    void setUp() {
        SimulatedCluster cluster = TestClusters.mixed(new VirtualScheduler()).build();
        api = FakeProxmoxApi.start(cluster);
    }

    @AfterEach
    void tearDown() {
        api.close();
    }

    @Test
    void pinnedFingerprintAcceptsTheSelfSignedCertificate() {
        String lowerCaseWithoutColons = TestTls.get().fingerprint.replace(":", "").toLowerCase();
        try (ProxmoxClient c = api.clientBuilder().tls(TlsTrust.pinnedFingerprints(WRONG, lowerCaseWithoutColons)).build()) {
            assertThat(c.snapshot().guests()).isNotEmpty();
        }
    }

    @Test
    void wrongPinnedFingerprintIsRefusedNamingBothFingerprints() {
        try (ProxmoxClient c = api.clientBuilder().tls(TlsTrust.pinnedFingerprints(WRONG)).build()) {
            assertThatThrownBy(c::snapshot)
                    .isInstanceOf(HypervisorException.class)
                    .isNotInstanceOf(TransientHypervisorException.class)
                    .hasMessageContaining(TestTls.get().fingerprint)
                    .hasMessageContaining(WRONG)
                    .hasMessageContaining(api.baseUrl());
            assertThat(api.calls()).as("no request reaches a server that is not trusted").isEmpty();
        }
    }

    @Test
    void pemCaFileAcceptsTheCertificateAndChecksTheHostName() {
        try (ProxmoxClient c = api.clientBuilder().tls(TlsTrust.caFile(TestTls.get().caPem)).build()) {
            assertThat(c.snapshot().nodes()).hasSize(3);
        }
    }

    @Test
    void jvmTrustStoreRefusesASelfSignedCertificate() {
        try (ProxmoxClient c = api.clientBuilder().tls(TlsTrust.systemDefault()).build()) {
            assertThatThrownBy(c::snapshot)
                    .isInstanceOf(HypervisorException.class)
                    .isNotInstanceOf(TransientHypervisorException.class)
                    .hasMessageContaining("TLS verification of " + api.baseUrl() + " failed");
        }
    }

    @Test
    void insecureIsAnExplicitChoiceThatWorks() {
        try (ProxmoxClient c = api.clientBuilder().tls(TlsTrust.insecure()).build()) {
            assertThat(c.snapshot().nodes()).hasSize(3);
            assertThat(c.toString()).contains("INSECURE");
        }
    }

    @Test
    void malformedFingerprintOrCaFileIsRefusedAtOnce() throws Exception {
        assertThatThrownBy(() -> TlsTrust.pinnedFingerprints("AA:BB"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SHA-256");
        Path notPem = Files.createTempFile("not", ".pem");
        Files.writeString(notPem, "hello");
        assertThatThrownBy(() -> TlsTrust.caFile(notPem))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(notPem.toString());
        Files.delete(notPem);
    }
}
