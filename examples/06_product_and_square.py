"""z = x*y + y**2 at x = 2, y = 3: dz/dx = y = 3, dz/dy = x + 2y = 8.

PyTorch ("What is Computational Graph in PyTorch: Explanation and Example")::

    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    z = x * y + y ** 2
    z.backward()
    print(f"z = {z.item()}")                  # z = 15.0
    print(f"Gradient of x: {x.grad.item()}")  # Gradient of x: 3.0
    print(f"Gradient of y: {y.grad.item()}")  # Gradient of y: 8.0

Run: ``python examples/06_product_and_square.py``
"""
import sys

import symdiff as sd


def main() -> dict:
    # Create tensors with gradient tracking enabled
    x = sd.tensor(2.0, requires_grad=True, name="x")
    y = sd.tensor(3.0, requires_grad=True, name="y")

    # Define a simple operation
    z = x * y + y ** 2

    # Compute gradients by backpropagation
    z.backward()

    # Print gradients of x and y
    grad_x = x.grad
    grad_y = y.grad

    print(f"z = {z.item()}")
    print(f"Gradient of x: {grad_x.item()}")
    print(f"Gradient of y: {grad_y.item()}")

    # the closed forms of the same graph
    print("z =", z.sympy(), "  dz/dx =", sd.diff(z, x).sympy(), "  dz/dy =", sd.diff(z, y).sympy())

    report = sd.check(z)
    print(report)
    return {"z": z.item(), "x_grad": grad_x.item(), "y_grad": grad_y.item(), "check": report}


if __name__ == "__main__":
    sys.exit(0 if main()["check"].ok else 1)
