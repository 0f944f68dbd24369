"""IRL methods behind one interface (methods.base.IRLMethod), registered in methods.registry."""
