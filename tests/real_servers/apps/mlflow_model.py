"""Save a tiny pyfunc model (runs in MLflow's venv): python mlflow_model.py OUT_DIR."""

import sys

import mlflow.pyfunc


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


if __name__ == "__main__":
    mlflow.pyfunc.save_model(sys.argv[1], python_model=Echo(), pip_requirements=[])
