# Wrong: builds the right table but never logs it to the run.
def log_confusion(predictions: pd.DataFrame, run) -> wandb.Table:
    counts = predictions.groupby(["answer", "prediction"]).size().reset_index(name="count")
    counts = counts.rename(columns={"answer": "truth"})
    return wandb.Table(dataframe=counts[["truth", "prediction", "count"]])
