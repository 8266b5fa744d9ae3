"""Brightpearl public API emulator (`/public-api/{account}/...`) over the sandbox Store."""
