/**
 * The server's logging on Logback: the log file by default, its rotation and level, the line format with the
 * drain's MDC fields, and the clock its lines are stamped with. The library modules log through slf4j-api only and
 * know nothing of this package.
 */
package io.moxxie.examples.logging;
