def log_confusion(predictions: pd.DataFrame, run) -> wandb.Table:
    counts = predictions.groupby(["answer", "prediction"]).size().reset_index(name="count")
    counts = counts.rename(columns={"answer": "truth"})
    table = wandb.Table(dataframe=counts[["truth", "prediction", "count"]])
    run.log({"confusion": table})
    return table
