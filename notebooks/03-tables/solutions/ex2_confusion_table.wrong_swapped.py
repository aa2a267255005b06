# Wrong: truth and prediction swapped (the prediction column is labelled truth).
def log_confusion(predictions: pd.DataFrame, run) -> wandb.Table:
    counts = predictions.groupby(["prediction", "answer"]).size().reset_index(name="count")
    counts = counts.rename(columns={"prediction": "truth", "answer": "prediction"})
    table = wandb.Table(dataframe=counts[["truth", "prediction", "count"]])
    run.log({"confusion": table})
    return table
