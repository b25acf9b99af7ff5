/**
 * The tag policy: the user guide's tag table as code ({@code always-on}, {@code maint-ok}, configurable names),
 * deciding per guest and drain mode whether it moves live, offline, in restart mode, stays, or cannot move.
 */
package io.moxxie.core.policy;
