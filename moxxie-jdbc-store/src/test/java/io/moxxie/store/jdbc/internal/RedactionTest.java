package io.moxxie.store.jdbc.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A database password never reaches a message: in a JDBC URL's parameters, its user info, or quoted by a driver. */
class RedactionTest {
    @Test
    void passwordsInJdbcUrlsAreMaskedWhateverTheDriversSyntax() {
        assertThat(Redaction.maskUrl("jdbc:postgresql://db:5432/moxxie?user=moxxie&password=s3cret&ssl=true"))
                .isEqualTo("jdbc:postgresql://db:5432/moxxie?user=moxxie&password=****&ssl=true");
        assertThat(Redaction.maskUrl("jdbc:mariadb://db:3306/moxxie?user=root&PWD=s3cret"))
                .isEqualTo("jdbc:mariadb://db:3306/moxxie?user=root&PWD=****");
        assertThat(Redaction.maskUrl("jdbc:h2:file:./moxxie;USER=sa;PASSWORD = s3cret;AUTO_SERVER=TRUE"))
                .isEqualTo("jdbc:h2:file:./moxxie;USER=sa;PASSWORD =****;AUTO_SERVER=TRUE");
        assertThat(Redaction.maskUrl("jdbc:mysql://moxxie:s3cret@db:3306/moxxie"))
                .isEqualTo("jdbc:mysql://moxxie:****@db:3306/moxxie");
        assertThat(Redaction.maskUrl("jdbc:postgresql://db/moxxie")).isEqualTo("jdbc:postgresql://db/moxxie");
        assertThat(Redaction.maskUrl(null)).isNull();
    }

    @Test
    void aKnownPasswordIsMaskedWhereverADriverQuotesIt() {
        assertThat(Redaction.scrub("FATAL: password authentication failed (tried 's3cret' for moxxie)", "s3cret"))
                .isEqualTo("FATAL: password authentication failed (tried '****' for moxxie)");
        assertThat(Redaction.scrub("Cannot reach jdbc:postgresql://db/x?password=other", null))
                .isEqualTo("Cannot reach jdbc:postgresql://db/x?password=****");
        assertThat(Redaction.scrub("nothing secret", "")).isEqualTo("nothing secret");
        assertThat(Redaction.scrub(null, "s3cret")).isNull();
    }
}
