package io.moxxie.store.jdbc.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Keeps passwords out of messages: masks them in JDBC URLs and wherever a known one appears. Not public API. */
public final class Redaction {
    public static final String MASK = "****";

    private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)((?:password|passwd|pwd)\\s*=)([^&;?#]*)");
    private static final Pattern USER_INFO = Pattern.compile("(//[^/:@?#;]*:)([^@/?#]*)(@)");

    private Redaction() {
    }

    /** {@code url} with the values of password parameters and of {@code user:password@} replaced by {@value #MASK}. */
    public static String maskUrl(String url) {
        if (url == null) return null;
        String masked = PASSWORD_PARAM.matcher(url).replaceAll("$1" + Matcher.quoteReplacement(MASK));
        return USER_INFO.matcher(masked).replaceAll("$1" + Matcher.quoteReplacement(MASK) + "$3");
    }

    /** {@code text} with every occurrence of {@code password} masked (and any URL-style password too). */
    public static String scrub(String text, String password) {
        if (text == null) return null;
        String out = text;
        if (password != null && !password.isEmpty()) out = out.replace(password, MASK);
        return maskUrl(out);
    }
}
