/** placeholder so the module compiles; filled by later issues. */
package dev.holdfast.protocol;
