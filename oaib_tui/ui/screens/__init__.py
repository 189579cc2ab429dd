"""The dashboard's screens beside the main one: details, help, confirmation, errors."""
