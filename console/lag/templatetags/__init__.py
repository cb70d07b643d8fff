"""Django template tags of the lag app."""
