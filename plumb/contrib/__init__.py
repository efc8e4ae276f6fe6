"""Framework glue: plumb.contrib.django."""
