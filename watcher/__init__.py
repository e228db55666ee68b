"""watcher: notice monitoring and change alerts for Chinese government science-and-technology programmes."""

__version__ = "0.1.0"
