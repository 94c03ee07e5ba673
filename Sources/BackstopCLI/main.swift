/// backstop: the operator (`run`), the data-plane agent (`agent …`) and the user tools.
print("backstop: not built yet")
