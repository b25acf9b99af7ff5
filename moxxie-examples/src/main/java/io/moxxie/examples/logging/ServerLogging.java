package io.moxxie.examples.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import io.moxxie.core.time.Scheduler;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The server's log set-up on Logback (the console part is in {@code logback.xml}): the rotated log file, the level,
 * and the clock lines are stamped with. One per JVM, as Logback's configuration is; a server started later in the
 * same JVM (tests) takes the file over.
 *
 * <p>Thread-safe (synchronized).
 */
public final class ServerLogging {
    /** The line format of the console and the file (see {@code logback.xml}). */
    public static final String PATTERN = "%clock [%level] %msg%mdcFields %logger{0}%n";
    /** A file is rolled over at this size ... */
    public static final String MAX_FILE_SIZE = "10MB";
    /** ... and this many rolled files are kept ({@code moxxie.log.1} … {@code moxxie.log.5}): at most 60 MB in all. */
    public static final int KEPT_FILES = 5;
    static final String FILE_APPENDER = "MOXXIE_FILE";

    private ServerLogging() {
    }

    /**
     * Logs to {@code file} (besides the console) at {@code level}, stamped with {@code clock}'s time; any file set up
     * before is closed. Does nothing but say so when SLF4J is not bound to Logback (the examples embedded elsewhere).
     *
     * @param file  the log file, {@code null} for the console only; its directory is created
     * @param level ERROR, WARN, INFO, DEBUG or TRACE for the {@code io.moxxie} loggers; the others no chattier than INFO
     * @param clock the scheduler the drains run on, {@code null} for the wall clock
     * @throws UncheckedIOException the file's directory cannot be created
     */
    public static synchronized void configure(Path file, String level, Scheduler clock) {
        ClockConverter.use(clock);
        LoggerContext ctx = context();
        if (ctx == null) return;
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        setLevels(ctx, level);
        detachFile(root);
        if (file == null) return;
        Path abs = file.toAbsolutePath().normalize();
        try {
            if (abs.getParent() != null) Files.createDirectories(abs.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the directory of the log file " + abs + ": " + e.getMessage(), e);
        }
        RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
        appender.setContext(ctx);
        appender.setName(FILE_APPENDER);
        appender.setFile(abs.toString());
        FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
        rolling.setContext(ctx);
        rolling.setParent(appender);
        rolling.setFileNamePattern(abs + ".%i");
        rolling.setMinIndex(1);
        rolling.setMaxIndex(KEPT_FILES);
        rolling.start();
        SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
        trigger.setContext(ctx);
        trigger.setMaxFileSize(FileSize.valueOf(MAX_FILE_SIZE));
        trigger.start();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern(PATTERN);
        encoder.start();
        appender.setRollingPolicy(rolling);
        appender.setTriggeringPolicy(trigger);
        appender.setEncoder(encoder);
        appender.start();
        root.addAppender(appender);
    }

    /** Sets the root level only (the benchmark quiets the drains' INFO lines so). */
    public static synchronized void level(String level) {
        LoggerContext ctx = context();
        if (ctx != null) setLevels(ctx, level);
    }

    /**
     * Moxxie's loggers ({@code io.moxxie}) at {@code level}; the libraries' (Jetty, HikariCP, …) at the same level when
     * it is INFO or quieter, and at INFO when DEBUG or TRACE is asked: their DEBUG lines (Jetty logs every request's
     * state changes) are theirs to debug, and would flood the file an operator reads for the drain's decisions.
     */
    private static void setLevels(LoggerContext ctx, String level) {
        Level asked = Level.toLevel(level, Level.INFO);
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(asked.isGreaterOrEqual(Level.INFO) ? asked : Level.INFO);
        ctx.getLogger("io.moxxie").setLevel(asked);
    }

    /**
     * Closes the log file {@code file} (the console stays) and goes back to the wall clock; does nothing when
     * another server has taken the log over since.
     */
    public static synchronized void closeFile(Path file, Scheduler clock) {
        if (ClockConverter.current() == clock) ClockConverter.use(null);
        LoggerContext ctx = context();
        if (ctx == null || file == null) return;
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root.getAppender(FILE_APPENDER) instanceof RollingFileAppender<ILoggingEvent> a
                && Path.of(a.getFile()).equals(file.toAbsolutePath().normalize())) {
            detachFile(root);
        }
    }

    private static void detachFile(Logger root) {
        Appender<ILoggingEvent> old = root.getAppender(FILE_APPENDER);
        if (old != null) {
            root.detachAppender(old);
            old.stop();
        }
    }

    private static LoggerContext context() {
        ILoggerFactory f = LoggerFactory.getILoggerFactory();
        return f instanceof LoggerContext ctx ? ctx : null;
    }
}
