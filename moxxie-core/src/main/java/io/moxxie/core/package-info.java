/**
 * Moxxie core: the root of the exception hierarchy ({@link io.moxxie.core.MoxxieException} and its subclasses, which
 * carry the node, guest or drain they are about), {@link io.moxxie.core.ValidationException} for a refused argument
 * or field (it carries the field and the value), and the argument checks every module uses, which throw it. Depends on
 * nothing else in Moxxie; every other package may use it.
 */
package io.moxxie.core;
