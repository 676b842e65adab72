"""Display widgets of the labelling app. Each takes data through a method ("attributes down")."""
