/** The controller's configuration file, validated at start-up (INTERFACE.md "Controller configuration"). */
package dev.holdfast.controller.config;
