/**
 * Moxxie core: the root of the exception hierarchy ({@link io.moxxie.core.MoxxieException} and its subclasses, which
 * carry the node, guest or drain they are about) and the argument checks every module uses. Depends on nothing else
 * in Moxxie; every other package may use it.
 */
package io.moxxie.core;
