package io.moxxie.core.testing;

import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;

/**
 * Turns DEBUG on for one class's logger while it is open, as an operator would in its logging configuration (slf4j-simple
 * fixes a logger's level when the logger is made, so this sets it directly). For code that builds an explanation only at
 * DEBUG: a test can then read the explanation, and check that turning it on changes nothing else. Tests run
 * single-threaded; the level is restored on close.
 */
public final class DebugLogging implements AutoCloseable {
    private static final int DEBUG = 10; // slf4j-simple's LOG_LEVEL_DEBUG (LocationAwareLogger.DEBUG_INT)

    private final Object logger;
    private final Field level;
    private final int before;

    private DebugLogging(Class<?> owner) {
        try {
            logger = LoggerFactory.getLogger(owner);
            Field f = null;
            for (Class<?> c = logger.getClass(); c != null && f == null; c = c.getSuperclass()) {
                try {
                    f = c.getDeclaredField("currentLogLevel");
                } catch (NoSuchFieldException e) {
                    // look further up
                }
            }
            if (f == null) throw new IllegalStateException("not an slf4j-simple logger: " + logger.getClass());
            f.setAccessible(true);
            level = f;
            before = f.getInt(logger);
            f.setInt(logger, DEBUG);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** DEBUG for {@code owner}'s logger ({@code LoggerFactory.getLogger(owner)}) until closed. */
    public static DebugLogging on(Class<?> owner) {
        return new DebugLogging(owner);
    }

    @Override
    public void close() {
        try {
            level.setInt(logger, before);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
