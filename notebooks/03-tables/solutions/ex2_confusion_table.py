def confusion_table(predictions: pd.DataFrame) -> wandb.Table:
    counts = predictions.groupby(["answer", "prediction"]).size().reset_index(name="count")
    counts = counts.rename(columns={"answer": "truth"})
    return wandb.Table(dataframe=counts[["truth", "prediction", "count"]])
