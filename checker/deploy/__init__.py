"""Servers redlin starts itself: the distribution's Redis binaries, found without mistaking a Python
package's bundled copy for them."""
